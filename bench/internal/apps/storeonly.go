package apps

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/sessionkit/sessionkit"
)

// StoreOnly serves /read and /write straight on a sessionkit.Store, with
// no manager: the cookie holds the record's ID, values are stored as plain
// bytes, and nothing checks, rotates or encodes anything. Between the floor
// and the full middleware, it tells the store's cost (its data layout,
// scripts and decoding) from the manager's.
type StoreOnly struct{ Store sessionkit.Store }

// ServeHTTP implements http.Handler.
func (s StoreOnly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var rec *sessionkit.Record
	if c, err := r.Cookie(CookieName); err == nil {
		if rec, err = s.Store.Load(ctx, c.Value); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	now := time.Now()
	switch r.URL.Path {
	case "/read":
		if rec != nil {
			w.Write([]byte("hello, " + string(rec.Values["user"])))
			return
		}
		var b [32]byte
		rand.Read(b[:])
		rec = &sessionkit.Record{
			ID:             base64.RawURLEncoding.EncodeToString(b[:]),
			Values:         map[string][]byte{"user": []byte(User)},
			Meta:           sessionkit.DefaultMetadata(r),
			CreatedAt:      now,
			LastSeen:       now,
			ExpiresAt:      now.Add(Lifetime),
			AbsoluteExpiry: now.Add(24 * time.Hour),
		}
		if err := s.Store.Create(ctx, rec); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: rec.ID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.Write([]byte("hello, " + User))
	case "/write":
		if rec == nil {
			http.Error(w, "no session", http.StatusBadRequest)
			return
		}
		n, _ := strconv.Atoi(string(rec.Values["n"]))
		n++
		d := sessionkit.Delta{
			Set:       map[string][]byte{"n": strconv.AppendInt(nil, int64(n), 10)},
			LastSeen:  now,
			ExpiresAt: now.Add(Lifetime),
		}
		if err := s.Store.Update(ctx, rec.ID, d); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write(strconv.AppendInt(nil, int64(n), 10))
	default:
		http.NotFound(w, r)
	}
}
