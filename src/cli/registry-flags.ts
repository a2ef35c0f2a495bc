/**
 * What pull and push share on the command line: the registry flags, and the credentials they name —
 * `--user USER[:PASSWORD]` (the password from stdin when it is not a terminal, else a prompt on the
 * terminal that does not echo), else docker's config.json. The password is never printed.
 */
import {Flags} from '@oclif/core'

import {type Credentials, dockerConfigCredentials, parseUser} from '../lib/registry/auth'

export const registryFlags = {
  'plain-http': Flags.boolean({description: 'talk to the registry over http, not https (a local registry)'}),
  user: Flags.string({char: 'u', description: 'registry user name, USER[:PASSWORD]; without the password it is read from stdin or asked for'}),
}

export async function registryCredentials(user: string | undefined, domain: string): Promise<Credentials | undefined> {
  if (user !== undefined) return parseUser(user, readPassword)
  return dockerConfigCredentials(domain)
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
