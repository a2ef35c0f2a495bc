/**
 * What pull and push share on the command line: the registry flags (Go ctr's names), the hosts and TLS
 * options they give, and the credentials they name — `--user USER[:PASSWORD]` (the password from stdin
 * when it is not a terminal, else a prompt on the terminal that does not echo) for every host, as Go ctr,
 * else docker's config.json for each host by its own name. The password is never printed.
 */
import {Flags} from '@oclif/core'

import {type Credentials, dockerConfigCredentials, parseUser} from '../lib/registry/auth'
import type {RegistryOptions} from '../lib/registry/client'
import {DEFAULT_HOSTS_DIR, type HostsOptions} from '../lib/registry/hosts'

export const registryFlags = {
  'hosts-dir': Flags.string({
    description: `containerd's registry hosts directory: HOST[:PORT]/hosts.toml (mirrors, CAs, client certificates) or docker's *.crt/*.cert/*.key files [default: ${DEFAULT_HOSTS_DIR}, when it exists]`,
  }),
  'plain-http': Flags.boolean({description: 'talk to the registry over http, not https (a local registry)'}),
  'skip-verify': Flags.boolean({char: 'k', description: "do not verify the registry's TLS certificate"}),
  tlscacert: Flags.string({description: 'trust the CAs of this PEM file (instead of the default ones)'}),
  tlscert: Flags.string({description: 'TLS client certificate (PEM), with --tlskey', dependsOn: ['tlskey']}),
  tlskey: Flags.string({description: 'TLS client key (PEM), with --tlscert', dependsOn: ['tlscert']}),
  user: Flags.string({char: 'u', description: 'registry user name, USER[:PASSWORD]; without the password it is read from stdin or asked for'}),
}

interface RegistryFlagValues {
  'hosts-dir'?: string
  'plain-http'?: boolean
  'skip-verify'?: boolean
  tlscacert?: string
  tlscert?: string
  tlskey?: string
  user?: string
}

/** The library's hosts, TLS and credentials options from the flags, for a reference to `domain`. */
export async function registryOptions(flags: RegistryFlagValues, domain: string): Promise<HostsOptions & Pick<RegistryOptions, 'credentials'>> {
  return {
    hostsDir: flags['hosts-dir'],
    plainHttp: flags['plain-http'],
    skipVerify: flags['skip-verify'],
    tlscacert: flags.tlscacert,
    tlscert: flags.tlscert,
    tlskey: flags.tlskey,
    credentials: await registryCredentials(flags.user, domain),
  }
}

/** The registry's own from config.json at once (a broken config.json fails early); a mirror's when it asks. */
async function registryCredentials(user: string | undefined, domain: string): Promise<Credentials | ((host: string) => Promise<Credentials | undefined>)> {
  if (user !== undefined) return parseUser(user, readPassword)
  const own = await dockerConfigCredentials(domain)
  return async (host) => (host === domain ? own : dockerConfigCredentials(host))
}

async function readPassword(): Promise<string> {
  const stdin = process.stdin
  if (!stdin.isTTY) {
    const chunks: Buffer[] = []
    for await (const chunk of stdin) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0]
  }
  process.stderr.write('Password: ')
  stdin.setRawMode(true)
  stdin.resume()
  return new Promise((resolve, reject) => {
    let password = ''
    const done = (error?: Error) => {
      stdin.setRawMode(false)
      stdin.pause()
      stdin.off('data', onData)
      process.stderr.write('\n')
      if (error) reject(error)
      else resolve(password)
    }
    const onData = (data: Buffer) => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n') return done()
        if (char === '\u0003') return done(Object.assign(new Error('interrupted'), {name: 'CtrError'}))
        if (char === '\u007f' || char === '\b') password = password.slice(0, -1)
        else password += char
      }
    }
    stdin.on('data', onData)
  })
}
