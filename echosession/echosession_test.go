package echosession_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/echosession"
	"github.com/sessionkit/sessionkit/memstore"
)

// site is an echo router behind a real TLS server.
type site struct {
	t      *testing.T
	m      *sessionkit.Manager
	srv    *httptest.Server
	client *http.Client
}

// newSite starts a server for the router that routes builds; the session
// middleware is installed with Use first.
func newSite(t *testing.T, cfg sessionkit.Config, routes func(e *echo.Echo)) *site {
	t.Helper()
	if cfg.Store == nil {
		st := memstore.New(memstore.Options{})
		t.Cleanup(func() { st.Close() })
		cfg.Store = st
	}
	m, err := sessionkit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.Use(echosession.New(m))
	routes(e)
	srv := httptest.NewTLSServer(e)
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &site{t: t, m: m, srv: srv, client: client}
}

// do sends one request carrying the session cookie (if not empty) and
// returns the response with its body read.
func (s *site) do(method, path, cookie string) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", sessionkit.DefaultCookieName+"="+cookie)
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return res, string(body)
}

// sessionCookie returns the session cookie that res sets, or nil.
func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == sessionkit.DefaultCookieName {
			return c
		}
	}
	return nil
}

// checkSaved fails unless res sets the session cookie with the headers
// that keep it out of shared caches.
func checkSaved(t *testing.T, res *http.Response) string {
	t.Helper()
	c := sessionCookie(res)
	if c == nil || c.Value == "" {
		t.Fatalf("status %d: no session cookie (Set-Cookie %q)", res.StatusCode, res.Header["Set-Cookie"])
	}
	if !c.Secure || !c.HttpOnly {
		t.Errorf("cookie %v is not Secure and HttpOnly", c)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", got)
	}
	if !varies(res) {
		t.Errorf("Vary = %q; want Cookie", res.Header.Values("Vary"))
	}
	return c.Value
}

func varies(res *http.Response) bool {
	for _, v := range res.Header.Values("Vary") {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), "Cookie") {
				return true
			}
		}
	}
	return false
}

// ran reports whether the handler of route name ran.
func ran(reached *sync.Map, name string) bool {
	_, ok := reached.Load(name)
	return ok
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Error(err)
	}
}

// failingStore fails Load or Create with err.
type failingStore struct {
	sessionkit.Store
	err        error
	failCreate bool
}

func (f failingStore) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	if f.failCreate {
		return f.Store.Load(ctx, id)
	}
	return nil, f.err
}

func (f failingStore) Create(ctx context.Context, rec *sessionkit.Record) error {
	if f.failCreate {
		return f.err
	}
	return f.Store.Create(ctx, rec)
}

// TestLoginLogoutRenewFlash runs the core's login, renewal, flash and
// logout scenarios through echo's router and helpers.
func TestLoginLogoutRenewFlash(t *testing.T) {
	var s *site
	s = newSite(t, sessionkit.Config{}, func(e *echo.Echo) {
		e.POST("/visit", func(c echo.Context) error {
			if err := echosession.Get(c).Put("visited", true); err != nil {
				return err
			}
			return c.String(http.StatusOK, "hello, stranger")
		})
		e.POST("/login", func(c echo.Context) error {
			sess := echosession.Get(c)
			if sess != s.m.Session(c.Request().Context()) {
				t.Error("Get and Manager.Session return different sessions")
			}
			if err := sess.Renew(false); err != nil {
				return err
			}
			must(t, sess.SetUserID("42"))
			must(t, sess.Put("name", "Gopher"))
			must(t, sess.AddFlash("success", "Welcome back"))
			return c.Redirect(http.StatusSeeOther, "/")
		})
		e.GET("/", func(c echo.Context) error {
			sess := echosession.Get(c)
			flashes, err := sess.Flashes()
			if err != nil {
				return err
			}
			var b strings.Builder
			for _, f := range flashes {
				fmt.Fprintf(&b, "[%s] %s\n", f.Kind, f.Message)
			}
			name, ok, err := sessionkit.Get[string](sess, "name")
			if err != nil {
				return err
			}
			if !ok {
				return c.String(http.StatusUnauthorized, b.String()+"anonymous")
			}
			return c.String(http.StatusOK, fmt.Sprintf("%sHello, %s (%s)", b.String(), name, sess.UserID()))
		})
		e.POST("/renew", func(c echo.Context) error {
			if err := echosession.Get(c).Renew(true); err != nil {
				return err
			}
			return c.JSON(http.StatusOK, map[string]bool{"renewed": true})
		})
		e.POST("/logout", func(c echo.Context) error {
			sess := echosession.Get(c)
			if err := sess.Destroy(); err != nil {
				return err
			}
			must(t, sess.AddFlash("info", "signed out"))
			return c.Redirect(http.StatusSeeOther, "/")
		})
	})
	home := func(cookie string, wantStatus int, want string) *http.Response {
		t.Helper()
		res, body := s.do("GET", "/", cookie)
		if res.StatusCode != wantStatus || body != want {
			t.Fatalf("GET / = %d %q; want %d %q", res.StatusCode, body, wantStatus, want)
		}
		return res
	}

	res := home("", http.StatusUnauthorized, "anonymous")
	if len(res.Header["Set-Cookie"]) != 0 || res.Header.Get("Cache-Control") != "" || varies(res) {
		t.Fatalf("a request without a session got session headers: %v", res.Header)
	}

	res, _ = s.do("POST", "/visit", "")
	anon := checkSaved(t, res)

	res, _ = s.do("POST", "/login", anon)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("login = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	user := checkSaved(t, res)
	if user == anon {
		t.Fatal("login kept the anonymous token (session fixation)")
	}
	home(anon, http.StatusUnauthorized, "anonymous")
	home(user, http.StatusOK, "[success] Welcome back\nHello, Gopher (42)")
	home(user, http.StatusOK, "Hello, Gopher (42)") // a flash is shown once

	res, body := s.do("POST", "/renew", user)
	if res.StatusCode != http.StatusOK || body != "{\"renewed\":true}\n" {
		t.Fatalf("renew = %d %q", res.StatusCode, body)
	}
	renewed := checkSaved(t, res)
	if renewed == user {
		t.Fatal("Renew did not issue a new token")
	}
	home(renewed, http.StatusOK, "Hello, Gopher (42)")
	res = home(user, http.StatusUnauthorized, "anonymous")
	if c := sessionCookie(res); c == nil || c.MaxAge >= 0 {
		t.Fatalf("the token before Renew was not cleared: %q", res.Header["Set-Cookie"])
	}

	res, _ = s.do("POST", "/logout", renewed)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout = %d", res.StatusCode)
	}
	after := checkSaved(t, res)
	if after == renewed {
		t.Fatal("logout kept the token")
	}
	home(renewed, http.StatusUnauthorized, "anonymous")
	home(after, http.StatusUnauthorized, "[info] signed out\nanonymous")
}

// TestFrameworkHelpersSaveSession checks that the session is saved, with
// its cache headers, whichever of echo's helpers starts the response,
// and when a handler's error reaches the HTTP error handler.
func TestFrameworkHelpersSaveSession(t *testing.T) {
	cases := []struct {
		name, method string
		status       int
		respond      func(c echo.Context) error
	}{
		{"String", "GET", http.StatusOK, func(c echo.Context) error { return c.String(http.StatusOK, "hi") }},
		{"JSON", "POST", http.StatusCreated, func(c echo.Context) error { return c.JSON(http.StatusCreated, map[string]int{"id": 1}) }},
		{"HTML", "GET", http.StatusOK, func(c echo.Context) error { return c.HTML(http.StatusOK, "<p>hi</p>") }},
		{"Blob", "GET", http.StatusOK, func(c echo.Context) error { return c.Blob(http.StatusOK, "text/plain", []byte("hi")) }},
		{"Stream", "GET", http.StatusOK, func(c echo.Context) error {
			return c.Stream(http.StatusOK, "text/plain", strings.NewReader("streamed"))
		}},
		{"Redirect", "POST", http.StatusSeeOther, func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/read") }},
		{"NoContent", "POST", http.StatusNoContent, func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }},
		{"NothingWritten", "POST", http.StatusOK, func(c echo.Context) error { return nil }},
		{"ResponseWriteHeader", "GET", http.StatusAccepted, func(c echo.Context) error {
			c.Response().WriteHeader(http.StatusAccepted)
			_, err := c.Response().Write([]byte("accepted"))
			return err
		}},
		{"ResponseFlush", "GET", http.StatusOK, func(c echo.Context) error {
			c.Response().Flush()
			return nil
		}},
		{"HTTPError", "GET", http.StatusForbidden, func(c echo.Context) error { return echo.NewHTTPError(http.StatusForbidden, "no") }},
		{"PlainError", "GET", http.StatusInternalServerError, func(c echo.Context) error { return errors.New("boom") }},
		{"ErrUnauthorized", "POST", http.StatusUnauthorized, func(c echo.Context) error { return echo.ErrUnauthorized }},
	}
	var reached sync.Map // route name -> true when the handler behind it ran
	s := newSite(t, sessionkit.Config{}, func(e *echo.Echo) {
		for _, tc := range cases {
			// A route middleware changes the session and responds; the
			// handler behind it runs only when the middleware says so.
			e.Add(tc.method, "/"+tc.name, func(c echo.Context) error {
				reached.Store(tc.name, true)
				return nil
			}, func(echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					must(t, echosession.Get(c).Put("via", tc.name))
					return tc.respond(c)
				}
			})
		}
		e.GET("/read", func(c echo.Context) error {
			via, _, err := sessionkit.Get[string](echosession.Get(c), "via")
			if err != nil {
				return err
			}
			return c.String(http.StatusOK, via)
		})
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := s.do(tc.method, "/"+tc.name, "")
			if res.StatusCode != tc.status {
				t.Fatalf("status %d; want %d", res.StatusCode, tc.status)
			}
			c := checkSaved(t, res)
			if _, body := s.do("GET", "/read", c); body != tc.name {
				t.Fatalf("the next request read %q; want %q", body, tc.name)
			}
			if ran(&reached, tc.name) {
				t.Fatal("the handler behind a middleware that answered ran")
			}
		})
	}
}

// TestErrorHandler checks a custom HTTP error handler: its response
// carries the session cookie, and the session is already saved when it
// runs.
func TestErrorHandler(t *testing.T) {
	s := newSite(t, sessionkit.Config{}, func(e *echo.Echo) {
		e.HTTPErrorHandler = func(err error, c echo.Context) {
			if err := echosession.Get(c).Put("in handler", 1); !errors.Is(err, sessionkit.ErrCommitted) {
				t.Errorf("Put in the error handler = %v; want ErrCommitted", err)
			}
			_ = c.String(http.StatusTeapot, "sorry: "+err.Error())
		}
		e.POST("/fail", func(c echo.Context) error {
			must(t, echosession.Get(c).Put("user", "gopher"))
			return errors.New("boom")
		})
		e.GET("/read", func(c echo.Context) error {
			v, _, _ := sessionkit.Get[string](echosession.Get(c), "user")
			return c.String(http.StatusOK, v)
		})
	})
	res, body := s.do("POST", "/fail", "")
	if res.StatusCode != http.StatusTeapot || body != "sorry: boom" {
		t.Fatalf("error response %d %q", res.StatusCode, body)
	}
	c := checkSaved(t, res)
	if _, body := s.do("GET", "/read", c); body != "gopher" {
		t.Fatalf("the session holds %q", body)
	}
}

// TestStream checks that a flushed response saves the session before its
// first byte and that the byte reaches the client before the handler
// returns.
func TestStream(t *testing.T) {
	release := make(chan struct{})
	s := newSite(t, sessionkit.Config{}, func(e *echo.Echo) {
		e.GET("/events", func(c echo.Context) error {
			must(t, echosession.Get(c).Put("stream", "on"))
			res := c.Response()
			res.Header().Set(echo.HeaderContentType, "text/event-stream")
			fmt.Fprint(res, "data: 1\n\n")
			res.Flush()
			<-release
			fmt.Fprint(res, "data: 2\n\n")
			return nil
		})
		e.GET("/read", func(c echo.Context) error {
			v, _, _ := sessionkit.Get[string](echosession.Get(c), "stream")
			return c.String(http.StatusOK, v)
		})
	})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the server closes, whatever fails
	res, err := s.client.Get(s.srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	c := checkSaved(t, res)
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	unblock()
	if err != nil || line != "data: 1\n" {
		t.Fatalf("first event = %q, %v; the stream was buffered", line, err)
	}
	if _, body := s.do("GET", "/read", c); body != "on" {
		t.Fatalf("the streamed response's session holds %q", body)
	}
}

// TestChangeAfterCommit checks that a change after the response started
// returns ErrCommitted and is not saved, whichever way it started.
func TestChangeAfterCommit(t *testing.T) {
	starts := map[string]func(c echo.Context) error{
		"String":      func(c echo.Context) error { return c.String(http.StatusOK, "body first") },
		"JSON":        func(c echo.Context) error { return c.JSON(http.StatusOK, struct{}{}) },
		"NoContent":   func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
		"Redirect":    func(c echo.Context) error { return c.Redirect(http.StatusFound, "/") },
		"WriteHeader": func(c echo.Context) error { c.Response().WriteHeader(http.StatusAccepted); return nil },
		"Flush":       func(c echo.Context) error { c.Response().Flush(); return nil },
	}
	s := newSite(t, sessionkit.Config{}, func(e *echo.Echo) {
		e.POST("/login", func(c echo.Context) error {
			return echosession.Get(c).Put("user", "gopher")
		})
		for name, start := range starts {
			e.POST("/"+name, func(c echo.Context) error {
				if err := start(c); err != nil {
					return err
				}
				sess := echosession.Get(c)
				if err := sess.Put("late", 1); !errors.Is(err, sessionkit.ErrCommitted) {
					t.Errorf("%s: Put after the response started = %v; want ErrCommitted", name, err)
				}
				if err := sess.Destroy(); !errors.Is(err, sessionkit.ErrCommitted) {
					t.Errorf("%s: Destroy after the response started = %v; want ErrCommitted", name, err)
				}
				return nil
			})
		}
		e.GET("/read", func(c echo.Context) error {
			sess := echosession.Get(c)
			return c.String(http.StatusOK, fmt.Sprint(sess.Has("user"), sess.Has("late")))
		})
	})
	res, _ := s.do("POST", "/login", "")
	cookie := checkSaved(t, res)
	for name := range starts {
		t.Run(name, func(t *testing.T) {
			res, _ := s.do("POST", "/"+name, cookie)
			if sessionCookie(res) != nil {
				t.Fatalf("a refused change set a cookie: %q", res.Header["Set-Cookie"])
			}
			if _, body := s.do("GET", "/read", cookie); body != "true false" {
				t.Fatalf("user, late = %s; want the session unchanged", body)
			}
		})
	}
}

// TestCacheHeaders checks the headers of responses that do not set the
// cookie: none without a session, Vary: Cookie when the response depends
// on one.
func TestCacheHeaders(t *testing.T) {
	s := newSite(t, sessionkit.Config{}, func(e *echo.Echo) {
		e.GET("/public", func(c echo.Context) error { return c.String(http.StatusOK, "public page") })
		e.POST("/login", func(c echo.Context) error { return echosession.Get(c).Put("user", "gopher") })
		e.GET("/private", func(c echo.Context) error {
			v, _, _ := sessionkit.Get[string](echosession.Get(c), "user")
			return c.String(http.StatusOK, v)
		})
	})
	res, _ := s.do("GET", "/public", "")
	if res.Header.Get("Cache-Control") != "" || varies(res) || len(res.Header["Set-Cookie"]) != 0 {
		t.Fatalf("a page without a session got session headers: %v", res.Header)
	}
	res, _ = s.do("POST", "/login", "")
	c := checkSaved(t, res)
	res, body := s.do("GET", "/private", c)
	if body != "gopher" || !varies(res) {
		t.Fatalf("private page %q with Vary %q; want gopher and Vary: Cookie", body, res.Header.Values("Vary"))
	}
	// The framework's own not-found answer runs behind the middleware too:
	// a cookie that names no session is cleared.
	res, _ = s.do("GET", "/missing", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	if gone := sessionCookie(res); res.StatusCode != http.StatusNotFound || gone == nil || gone.MaxAge >= 0 || !varies(res) {
		t.Fatalf("not found with a stale cookie: %d %v", res.StatusCode, res.Header)
	}
}

// TestOuterMiddlewareSeesResponse checks that a middleware installed before
// the session middleware, such as echo's logger, still reads the status,
// size and committed state of the response, and that its Before hooks run.
func TestOuterMiddlewareSeesResponse(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	m, err := sessionkit.New(sessionkit.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	var status int
	var size int64
	var committed bool
	e := echo.New()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			res.Before(func() { res.Header().Set("X-Before", "ran") })
			err := next(c)
			status, size, committed = res.Status, res.Size, res.Committed
			return err
		}
	}, echosession.New(m))
	e.GET("/", func(c echo.Context) error {
		_ = echosession.Get(c).Put("k", 1)
		return c.String(http.StatusCreated, "12345")
	})
	rr := httptest.NewRecorder()
	e.ServeHTTP(rr, httptest.NewRequest("GET", "https://example.test/", nil))
	if status != http.StatusCreated || size != 5 || !committed {
		t.Fatalf("outer middleware saw status %d size %d committed %v", status, size, committed)
	}
	if rr.Code != http.StatusCreated || rr.Body.String() != "12345" || rr.Header().Get("Set-Cookie") == "" || rr.Header().Get("X-Before") != "ran" {
		t.Fatalf("response %d %q %v", rr.Code, rr.Body, rr.Header())
	}
}

func TestWithoutMiddleware(t *testing.T) {
	e := echo.New()
	e.GET("/", func(c echo.Context) error {
		s := echosession.Get(c)
		if s == nil {
			t.Fatal("Get returned nil")
		}
		if err := s.Put("k", 1); !errors.Is(err, sessionkit.ErrNoSession) {
			t.Errorf("Put without the middleware = %v; want ErrNoSession", err)
		}
		if _, _, err := sessionkit.Get[int](s, "k"); !errors.Is(err, sessionkit.ErrNoSession) {
			t.Errorf("Get without the middleware = %v; want ErrNoSession", err)
		}
		return c.NoContent(http.StatusNoContent)
	})
	rr := httptest.NewRecorder()
	e.ServeHTTP(rr, httptest.NewRequest("GET", "/", nil))
	if rr.Code != http.StatusNoContent {
		t.Fatalf("status %d", rr.Code)
	}
}

// TestStoreFailures checks that a session that cannot be loaded keeps the
// handler from running, and that one that cannot be saved withholds the
// handler's response, behind the manager's ErrorHandler.
func TestStoreFailures(t *testing.T) {
	base := memstore.New(memstore.Options{})
	defer base.Close()
	good := newSite(t, sessionkit.Config{Store: base}, func(e *echo.Echo) {
		e.POST("/", func(c echo.Context) error { return echosession.Get(c).Put("k", 1) })
	})
	res, _ := good.do("POST", "/", "")
	cookie := checkSaved(t, res)

	down := fmt.Errorf("%w: connection refused", sessionkit.ErrUnavailable)
	cases := []struct {
		name    string
		store   failingStore
		cookie  string
		respond func(c echo.Context) error
		want    int
	}{
		{"Load", failingStore{Store: base, err: down}, cookie, func(c echo.Context) error { return c.String(http.StatusOK, "secret page") }, http.StatusServiceUnavailable},
		{"CreateOnWrite", failingStore{Store: base, err: errors.New("constraint"), failCreate: true}, "", func(c echo.Context) error {
			return c.JSON(http.StatusOK, map[string]string{"secret": "page"})
		}, http.StatusInternalServerError},
		{"CreateOnHandlerError", failingStore{Store: base, err: down, failCreate: true}, "", func(c echo.Context) error {
			return echo.NewHTTPError(http.StatusConflict, "secret page")
		}, http.StatusServiceUnavailable},
		{"CreateAtEnd", failingStore{Store: base, err: down, failCreate: true}, "", func(c echo.Context) error { return nil }, http.StatusServiceUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var called atomic.Bool
			s := newSite(t, sessionkit.Config{Store: tc.store, Logger: slog.New(slog.DiscardHandler)}, func(e *echo.Echo) {
				e.GET("/", func(c echo.Context) error {
					called.Store(true)
					_ = echosession.Get(c).Put("k", 2)
					return tc.respond(c)
				})
			})
			res, body := s.do("GET", "/", tc.cookie)
			if res.StatusCode != tc.want || strings.Contains(body, "secret") {
				t.Fatalf("status %d body %q; want %d and the handler's body withheld", res.StatusCode, body, tc.want)
			}
			if sessionCookie(res) != nil {
				t.Fatal("a failed save set the cookie")
			}
			if tc.name == "Load" && called.Load() {
				t.Fatal("the handler ran although the session could not be loaded")
			}
		})
	}
}

// TestHijack checks that a handler can take over the connection, as
// WebSocket libraries do, and that the session is committed first.
func TestHijack(t *testing.T) {
	s := newSite(t, sessionkit.Config{}, func(e *echo.Echo) {
		e.GET("/ws", func(c echo.Context) error {
			must(t, echosession.Get(c).Put("k", "v"))
			conn, buf, err := c.Response().Hijack()
			if err != nil {
				return err
			}
			defer conn.Close()
			if err := echosession.Get(c).Put("late", 1); !errors.Is(err, sessionkit.ErrCommitted) {
				t.Errorf("Put after Hijack = %v; want ErrCommitted", err)
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			return buf.Flush()
		})
	})
	if res, body := s.do("GET", "/ws", ""); body != "ok" {
		t.Fatalf("hijacked response %d %q", res.StatusCode, body)
	}
}

// TestPanic checks that a handler that panics does not save its session
// and that echo's Recover middleware still answers.
func TestPanic(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	m, err := sessionkit.New(sessionkit.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true}), echosession.New(m))
	e.GET("/", func(c echo.Context) error {
		must(t, echosession.Get(c).Put("half", "done"))
		panic("handler bug")
	})
	rr := httptest.NewRecorder()
	e.ServeHTTP(rr, httptest.NewRequest("GET", "https://example.test/", nil))
	if rr.Code != http.StatusInternalServerError || rr.Header().Get("Set-Cookie") != "" {
		t.Fatalf("after a panic: %d %v; want 500 without a session cookie", rr.Code, rr.Header())
	}
}
