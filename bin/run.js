#!/usr/bin/env node
'use strict'
// Exit explicitly once the command is done: a leftover handle must never keep a script waiting.
require('../dist/cli.js')
  .main(process.argv.slice(2))
  .then(() => process.exit())
