package apps

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Floor does what a Redis session store must do at the least, with no
// session logic: /read is one GET, /write one GET and one SET with expiry.
// A request without a cookie gets one (a random ID) and its "user" key.
type Floor struct{ RDB *redis.Client }

// ServeHTTP implements http.Handler.
func (f Floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := ""
	if c, err := r.Cookie(CookieName); err == nil {
		id = c.Value
	}
	switch r.URL.Path {
	case "/read":
		if id != "" {
			user, err := f.RDB.Get(ctx, "floor:"+id+":user").Result()
			if err == nil {
				w.Write([]byte("hello, " + user))
				return
			}
			if err != redis.Nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		var b [32]byte
		rand.Read(b[:])
		id = base64.RawURLEncoding.EncodeToString(b[:])
		if err := f.RDB.Set(ctx, "floor:"+id+":user", User, Lifetime).Err(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.Write([]byte("hello, " + User))
	case "/write":
		key := "floor:" + id + ":n"
		n, err := f.RDB.Get(ctx, key).Int()
		if err != nil && err != redis.Nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		n++
		if err := f.RDB.Set(ctx, key, n, Lifetime).Err(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write(strconv.AppendInt(nil, int64(n), 10))
	default:
		http.NotFound(w, r)
	}
}
