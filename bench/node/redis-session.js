// The seed's redis-session.js (express + express-session + connect-redis +
// redis), with the two endpoints of sessionkit's load benchmark. The APIs
// are those of the current packages: connect-redis exports RedisStore, and
// a node-redis client must be connected before use.
const express = require('express');
const session = require('express-session');
const { RedisStore } = require('connect-redis');
const { createClient } = require('redis');

// Create a Redis client
const redisClient = createClient({ url: process.env.REDIS_URL });
redisClient.on('error', (err) => console.error('redis:', err));

const app = express();
const PORT = Number(process.env.PORT) || 3000;

app.use(session({
    store: new RedisStore({ client: redisClient }),
    secret: 'mysecret',
    resave: false,
    saveUninitialized: false,
    cookie: { secure: false }
}));

app.get('/read', (req, res) => {
    if (!req.session.user) {
        req.session.user = 'gopher';
    }
    res.send(`hello, ${req.session.user}`);
});

app.get('/write', (req, res) => {
    req.session.n = (req.session.n || 0) + 1;
    res.send(String(req.session.n));
});

redisClient.connect().then(() => {
    app.listen(PORT, '127.0.0.1', () => {
        console.log(`Server running on port ${PORT}`);
    });
}).catch((err) => {
    console.error(err);
    process.exit(1);
});
