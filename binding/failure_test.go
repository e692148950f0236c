package binding_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/binding"
	"github.com/sessionkit/sessionkit/memstore"
)

// failingDelete is a memstore whose Delete and Remove fail, as a store
// that went down between the load and the destroy.
type failingDelete struct{ *memstore.Store }

func (failingDelete) Delete(context.Context, string) error { return sessionkit.ErrUnavailable }

func (failingDelete) Remove(context.Context, string) (bool, error) {
	return false, sessionkit.ErrUnavailable
}

// TestDestroyFailsClosed: when the session cannot be destroyed, the request
// is not served with it; an unknown action is treated as Reauthenticate.
func TestDestroyFailsClosed(t *testing.T) {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	m, err := sessionkit.New(sessionkit.Config{Store: failingDelete{store}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var action binding.Action
	check := binding.New(m, binding.Options{Policy: func(*http.Request, binding.Change) binding.Action { return action }})
	served := false
	h := m.Middleware(check.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served = true
		_ = m.Session(r.Context()).SetUserID("alice")
	})))
	send := func(ua string, cookies []*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("User-Agent", ua)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	cookies := send("a", nil).Result().Cookies()
	served = false
	action = binding.Destroy
	if w := send("b", cookies); w.Code != http.StatusServiceUnavailable || served {
		t.Errorf("destroy failed: status %d, served %v; want 503, not served", w.Code, served)
	}
	action = binding.Action(42)
	if w := send("b", cookies); w.Code != http.StatusUnauthorized || served {
		t.Errorf("unknown action: status %d, served %v; want 401, not served", w.Code, served)
	}
	if got := binding.Action(42).String(); got != "unknown" {
		t.Errorf("String() = %q", got)
	}
}
