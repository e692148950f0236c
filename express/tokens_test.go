package express_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/express"
	"github.com/sessionkit/sessionkit/memstore"
)

func TestTokens(t *testing.T) {
	if _, err := express.NewTokens(); err == nil {
		t.Fatal("NewTokens without a secret accepted")
	}
	tokens, err := express.NewTokens([]byte("keyboard cat"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := tokens.New()
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 32 || tokens.StoreKey(id) != id {
		t.Fatalf("Express ID %q (len %d) or store key wrong", id, len(id))
	}
	// A cookie captured from express-session 1.19 with secret "mysecret".
	mx, _ := express.NewTokens([]byte("mysecret"))
	const captured = "s%3AC31EoJ4Kt9HnGaetjCHM2zDy-LFtr495.Cq6VQLIc%2FEGKmNMmCjkJKY%2BFrKsZVYR1c2aO0qc%2FEWg"
	if got, ok := mx.Decode(captured); !ok || got != "C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495" {
		t.Fatalf("captured Express cookie decoded to %q", got)
	}
	if got := mx.Encode("C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495"); got != captured {
		t.Fatalf("encode = %q; want Express's %q", got, captured)
	}
	v := tokens.Encode(id)
	if got, ok := tokens.Decode(v); !ok || got != id {
		t.Fatalf("round trip of %q gave %q", v, got)
	}
	for _, bad := range []string{id, captured, tokens.Encode("a.b"), tokens.Encode(""), tokens.Encode(strings.Repeat("a", 129))} {
		if got, ok := tokens.Decode(bad); ok {
			t.Errorf("Decode(%q) accepted %q", bad, got)
		}
	}
}

// TestTokensInManager runs a manager with express-session's scheme: the
// cookie is connect.sid, signed as Express signs it, and the store key is the
// session ID itself.
func TestTokensInManager(t *testing.T) {
	tokens, _ := express.NewTokens([]byte("keyboard cat"))
	st := memstore.New(memstore.Options{})
	defer st.Close()
	m, err := sessionkit.New(sessionkit.Config{Store: st, Tokens: tokens, Cookie: sessionkit.CookieConfig{Name: express.CookieName}})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = m.Session(r.Context()).Put("k", 1)
	}))
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest("GET", "https://example.test/", nil))
	c := rr.Result().Cookies()
	if len(c) != 1 || c[0].Name != "connect.sid" || !strings.HasPrefix(c[0].Value, "s%3A") {
		t.Fatalf("cookies %v", c)
	}
	id, _ = tokens.Decode(c[0].Value)
	if rec, err := st.Load(t.Context(), id); err != nil || rec == nil {
		t.Fatalf("session not stored under its ID: %v %v", rec, err)
	}
	if _, err := sessionkit.New(sessionkit.Config{Store: st, Tokens: tokens, Secrets: [][]byte{[]byte("keyboard cat")}}); err == nil {
		t.Fatal("Secrets next to express.Tokens accepted")
	}
}

func ExampleNewTokens() {
	// The Express application's secret option, newest first.
	tokens, err := express.NewTokens([]byte("mysecret"))
	if err != nil {
		panic(err)
	}
	cfg := sessionkit.Config{
		Tokens: tokens,
		Cookie: sessionkit.CookieConfig{Name: express.CookieName},
		// Store: redisstore.NewExpress(…) or mongostore.NewExpress(…)
	}
	_ = cfg

	// The cookie express-session 1.19 set for session C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495.
	id, ok := tokens.Decode("s%3AC31EoJ4Kt9HnGaetjCHM2zDy-LFtr495.Cq6VQLIc%2FEGKmNMmCjkJKY%2BFrKsZVYR1c2aO0qc%2FEWg")
	fmt.Println(id, ok, tokens.StoreKey(id) == id)
	// Output:
	// C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495 true true
}
