// A small Express app for sessionkit's interop tests (see ../README.md).
// It shares its sessions with a Go service through Redis (connect-redis) or
// MongoDB (connect-mongo). Configuration comes from the environment:
//
//   PORT          port to listen on (127.0.0.1)
//   STORE         "redis" or "mongo"
//   REDIS_URL     redis://host:port            (STORE=redis)
//   MONGO_URL     mongodb://host:port/         (STORE=mongo)
//   MONGO_DB      database name                (STORE=mongo)
//   STRINGIFY     "false" for connect-mongo's stringify: false
//   SECRETS       JSON array of secrets, the first signs
//   MAX_AGE       cookie maxAge in ms (unset: a browser-session cookie)
//
// It prints "listening <port>" once it accepts connections.
'use strict';

const express = require('express');
const session = require('express-session');

async function makeStore() {
  if (process.env.STORE === 'mongo') {
    const { MongoStore } = require('connect-mongo');
    return MongoStore.create({
      mongoUrl: process.env.MONGO_URL,
      dbName: process.env.MONGO_DB,
      collectionName: 'sessions',
      stringify: process.env.STRINGIFY !== 'false',
      autoRemove: 'disabled', // FerretDB has no TTL indexes
    });
  }
  const { createClient } = require('redis');
  const { RedisStore } = require('connect-redis');
  const client = createClient({ url: process.env.REDIS_URL });
  client.on('error', (err) => console.error('redis:', err.message));
  await client.connect();
  return new RedisStore({ client });
}

async function main() {
  const app = express();
  const cookie = {};
  if (process.env.MAX_AGE) cookie.maxAge = Number(process.env.MAX_AGE);
  app.use(session({
    store: await makeStore(),
    secret: JSON.parse(process.env.SECRETS || '["mysecret"]'),
    resave: false,
    saveUninitialized: false,
    cookie,
  }));

  // The session as JavaScript sees it, with the type of every value.
  const show = (req, res) => {
    const s = req.session;
    const types = {};
    for (const [k, v] of Object.entries(s)) types[k] = typeof v;
    res.json({ id: req.sessionID, user: s.user || null, session: s, types });
  };

  app.get('/session', show);

  // Values of every JSON type, the way an Express app writes them.
  app.get('/js-values', (req, res) => {
    req.session.user = req.session.user || 'Ann';
    req.session.counter = (req.session.counter || 0) + 1;
    req.session.price = 12.5;
    req.session.admin = true;
    req.session.profile = { name: 'Ann Lee', age: 31, tags: ['a', 'b'], address: { city: 'Oslo', zip: '0150' } };
    show(req, res);
  });

  app.get('/counter', (req, res) => {
    req.session.counter = (req.session.counter || 0) + 1;
    show(req, res);
  });

  // Login renews the session ID, as express-session's docs recommend.
  app.get('/login', (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = req.query.user || 'Ann';
      show(req, res);
    });
  });

  app.get('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err);
      res.json({ ok: true });
    });
  });

  const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => {
    console.log(`listening ${server.address().port}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
