// redis-session.js from the article "Session Management in Node.js" that
// sessionkit's Express mode starts from, unchanged except for two lines
// marked "changed": the Redis URL and the port come from the environment,
// so that the example and its test can run anywhere.
const express = require('express');
const session = require('express-session');
const RedisStore = require('connect-redis')(session);
const redis = require('redis');

// Create a Redis client
const redisClient = redis.createClient(process.env.REDIS_URL); // changed: was redis.createClient()

const app = express();
const PORT = process.env.PORT || 3000; // changed: was 3000

app.use(session({
    store: new RedisStore({ client: redisClient }),
    secret: 'mysecret',
    resave: false,
    saveUninitialized: false,
    cookie: { secure: false }
}));

app.get('/', (req, res) => {
    if (!req.session.user) {
        req.session.user = 'John Doe';
    }
    res.send(`Hello, ${req.session.user}!`);
});

app.listen(PORT, () => {
    console.log(`Server running on port ${PORT}`);
});
