// Uploads files to the mediasync emulator with an independent X client
// library, PLhery/node-twitter-api-v2, unmodified: the library talks to its
// own default hosts (https://upload.x.com/1.1/, https://api.x.com/2/), and
// only the TCP connection is redirected to the emulator's TLS listener, so
// the OAuth 1.0a signatures it computes are for the real URLs.
//
// Driven by emulator/independent_test.go. Input (environment):
//   EMULATOR_ADDR  host:port of the emulator's TLS listener
//   EMULATOR_CA    PEM file of the listener's certificate
//   CONSUMER_KEY, CONSUMER_SECRET, ACCESS_TOKEN, ACCESS_TOKEN_SECRET
//   UPLOADS        JSON [{"api":"v1"|"v2","path":"...","mime":"...","alt":"..."}]
// Output: one JSON object on stdout:
//   {"uploads":[{"api","path","media_id"}],"wrong_secret_status":401}
'use strict';

const fs = require('fs');
const https = require('https');
const tls = require('tls');
const { TwitterApi } = require('twitter-api-v2');

async function main() {
  const [host, port] = process.env.EMULATOR_ADDR.split(':');
  const ca = fs.readFileSync(process.env.EMULATOR_CA);
  const agent = new https.Agent({ keepAlive: true });
  agent.createConnection = (options, callback) =>
    tls.connect({
      host,
      port: Number(port),
      ca,
      servername: options.servername || options.host,
      // The chain is pinned to the emulator's own certificate (ca above);
      // its name is 127.0.0.1, not upload.x.com / api.x.com.
      checkServerIdentity: () => undefined,
    }, callback);

  const client = new TwitterApi({
    appKey: process.env.CONSUMER_KEY,
    appSecret: process.env.CONSUMER_SECRET,
    accessToken: process.env.ACCESS_TOKEN,
    accessSecret: process.env.ACCESS_TOKEN_SECRET,
  }, { httpAgent: agent });

  const results = [];
  for (const u of JSON.parse(process.env.UPLOADS)) {
    let id;
    if (u.api === 'v1') {
      id = await client.v1.uploadMedia(u.path, { mimeType: u.mime });
      if (u.alt) {
        await client.v1.createMediaMetadata(id, { alt_text: { text: u.alt } });
      }
    } else {
      id = await client.v2.uploadMedia(fs.readFileSync(u.path), { media_type: u.mime });
      if (u.alt) {
        await client.v2.createMediaMetadata(id, { alt_text: { text: u.alt } });
      }
    }
    results.push({ api: u.api, path: u.path, media_id: id });
  }
  // The same library with a wrong consumer secret must be refused.
  const wrong = new TwitterApi({
    appKey: process.env.CONSUMER_KEY,
    appSecret: process.env.CONSUMER_SECRET + 'x',
    accessToken: process.env.ACCESS_TOKEN,
    accessSecret: process.env.ACCESS_TOKEN_SECRET,
  }, { httpAgent: agent });
  let wrongStatus = 0;
  try {
    await wrong.v2.me();
  } catch (err) {
    wrongStatus = err.code || -1;
  }
  agent.destroy();
  process.stdout.write(JSON.stringify({ uploads: results, wrong_secret_status: wrongStatus }) + '\n');
}

main().catch((err) => {
  console.error('upload failed:', err && (err.data ? JSON.stringify(err.data) : err.stack || err));
  process.exit(1);
});
