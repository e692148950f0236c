package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
)

// checkErrorPage checks that r is the app's error page with status want:
// the layout, HTML, and the headers every page has.
func checkErrorPage(t *testing.T, what string, r *apptest.Resp, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Errorf("%s: status %d, want %d", what, r.StatusCode, want)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	for _, marker := range []string{`<header class="topbar">`, `href="/static/style.css"`, `<a class="button" href="/">Back to the home page</a>`} {
		if !strings.Contains(r.Text, marker) {
			t.Errorf("%s: body lacks %q:\n%s", what, marker, r.Text)
		}
	}
	if strings.Contains(r.Text, "page not found\n") || strings.Contains(r.Text, `href="/login"`) {
		t.Errorf("%s: plain-text body or account links:\n%s", what, r.Text)
	}
	for k, v := range map[string]string{
		"Content-Security-Policy":    contentSecurityPolicy,
		"X-Frame-Options":            "DENY",
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "no-referrer",
		"Cross-Origin-Opener-Policy": "same-origin",
		"Permissions-Policy":         "camera=(), microphone=(), geolocation=(), interest-cohort=()",
		"Cache-Control":              "no-store",
	} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

func TestNotFoundPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client("visitor")
	for _, path := range []string{"/nope", "/login/extra", "/static/nope.css", "/static/"} {
		r := c.Get(path)
		checkErrorPage(t, "GET "+path, r, http.StatusNotFound)
		if !strings.Contains(r.Text, "<h1>Page not found</h1>") {
			t.Errorf("GET %s: no heading:\n%s", path, r.Text)
		}
		// A 404 creates no session.
		if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("GET %s set cookies: %q", path, sc)
		}
	}
	if c.SessionCookie() != nil {
		t.Error("a 404 left a session cookie")
	}
}

func TestNotFoundKeepsSignedInSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client("user")
	apptest.MustSeeOther(t, c.Register("nina", apptest.TestPassword), "/")
	// Queue a flash message, then stray onto a missing page: the 404
	// leaves the message for the next real page.
	apptest.MustSeeOther(t, c.Post("/password", apptest.Form("current_password", "wrong password!", "new_password", "another long passphrase")), "/")
	checkErrorPage(t, "GET /missing", c.Get("/missing"), http.StatusNotFound)
	if r := c.Get("/"); !strings.Contains(r.Text, "Your current password was not correct.") {
		t.Errorf("the 404 took the flash message:\n%s", r.Text)
	}
	c.LoggedInAs("nina")
}

func TestMethodNotAllowedPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client("visitor")
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodGet, "/logout", "POST"},
		{http.MethodPut, "/login", "GET, HEAD, POST"},
		{http.MethodDelete, "/sessions", "GET, HEAD"},
	} {
		req, err := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := c.Do(req)
		what := tc.method + " " + tc.path
		checkErrorPage(t, what, r, http.StatusMethodNotAllowed)
		if got := r.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s: Allow %q, want %q", what, got, tc.allow)
		}
		if want := "does not accept " + tc.method + " requests"; !strings.Contains(r.Text, want) {
			t.Errorf("%s: body lacks %q:\n%s", what, want, r.Text)
		}
		if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("%s set cookies: %q", what, sc)
		}
	}
}
