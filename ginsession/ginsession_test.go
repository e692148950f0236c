package ginsession_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/ginsession"
	"github.com/sessionkit/sessionkit/memstore"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// site is a gin router behind a real TLS server.
type site struct {
	t      *testing.T
	m      *sessionkit.Manager
	srv    *httptest.Server
	client *http.Client
}

// newSite starts a server for the router that routes builds; the session
// middleware is installed with Use first.
func newSite(t *testing.T, cfg sessionkit.Config, routes func(r *gin.Engine)) *site {
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
	r := gin.New()
	r.Use(ginsession.New(m))
	routes(r)
	srv := httptest.NewTLSServer(r)
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

// TestLoginLogoutRenewFlash runs the core's login, renewal, flash and
// logout scenarios through gin's router and helpers.
func TestLoginLogoutRenewFlash(t *testing.T) {
	var s *site
	s = newSite(t, sessionkit.Config{}, func(r *gin.Engine) {
		r.POST("/visit", func(c *gin.Context) {
			must(t, ginsession.Get(c).Put("visited", true))
			c.String(http.StatusOK, "hello, stranger")
		})
		r.POST("/login", func(c *gin.Context) {
			sess := ginsession.Get(c)
			if sess != s.m.Session(c.Request.Context()) {
				t.Error("Get and Manager.Session return different sessions")
			}
			must(t, sess.Renew(false))
			must(t, sess.SetUserID("42"))
			must(t, sess.Put("name", "Gopher"))
			must(t, sess.AddFlash("success", "Welcome back"))
			c.Redirect(http.StatusSeeOther, "/")
		})
		r.GET("/", func(c *gin.Context) {
			sess := ginsession.Get(c)
			flashes, err := sess.Flashes()
			must(t, err)
			var b strings.Builder
			for _, f := range flashes {
				fmt.Fprintf(&b, "[%s] %s\n", f.Kind, f.Message)
			}
			name, ok, err := sessionkit.Get[string](sess, "name")
			must(t, err)
			if !ok {
				c.String(http.StatusUnauthorized, b.String()+"anonymous")
				return
			}
			c.String(http.StatusOK, "%sHello, %s (%s)", b.String(), name, sess.UserID())
		})
		r.POST("/renew", func(c *gin.Context) {
			must(t, ginsession.Get(c).Renew(true))
			c.JSON(http.StatusOK, gin.H{"renewed": true})
		})
		r.POST("/logout", func(c *gin.Context) {
			sess := ginsession.Get(c)
			must(t, sess.Destroy())
			must(t, sess.AddFlash("info", "signed out"))
			c.Redirect(http.StatusSeeOther, "/")
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
	if res.StatusCode != http.StatusOK || body != `{"renewed":true}` {
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
// its cache headers, whichever of gin's helpers starts the response.
func TestFrameworkHelpersSaveSession(t *testing.T) {
	cases := []struct {
		name, method string
		status       int
		respond      func(c *gin.Context)
	}{
		{"String", "GET", http.StatusOK, func(c *gin.Context) { c.String(http.StatusOK, "hi") }},
		{"JSON", "POST", http.StatusCreated, func(c *gin.Context) { c.JSON(http.StatusCreated, gin.H{"id": 1}) }},
		{"Data", "GET", http.StatusOK, func(c *gin.Context) { c.Data(http.StatusOK, "text/plain", []byte("hi")) }},
		{"SSEvent", "GET", http.StatusOK, func(c *gin.Context) { c.SSEvent("message", "hi") }},
		{"RedirectWithBody", "GET", http.StatusFound, func(c *gin.Context) { c.Redirect(http.StatusFound, "/read") }},
		{"RedirectHeaderOnly", "POST", http.StatusSeeOther, func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/read") }},
		{"Status", "POST", http.StatusNoContent, func(c *gin.Context) { c.Status(http.StatusNoContent) }},
		{"NothingWritten", "POST", http.StatusOK, func(c *gin.Context) {}},
		{"AbortWithStatus", "GET", http.StatusUnauthorized, func(c *gin.Context) { c.AbortWithStatus(http.StatusUnauthorized) }},
		{"AbortWithStatusJSON", "GET", http.StatusForbidden, func(c *gin.Context) {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "no"})
		}},
		{"AbortWithError", "GET", http.StatusBadRequest, func(c *gin.Context) {
			_ = c.AbortWithError(http.StatusBadRequest, errors.New("bad input"))
		}},
		{"WriterWriteString", "GET", http.StatusOK, func(c *gin.Context) { _, _ = c.Writer.WriteString("raw") }},
		{"WriterFlush", "GET", http.StatusOK, func(c *gin.Context) { c.Writer.Flush() }},
		{"PutAfterStatus", "POST", http.StatusAccepted, func(c *gin.Context) {
			// gin sends the status with the first byte: the session is
			// still open after c.Status.
			c.Status(http.StatusAccepted)
			must(t, ginsession.Get(c).Put("late", "yes"))
			c.String(http.StatusAccepted, "accepted")
		}},
	}
	var reached sync.Map // route name -> true when the handler behind it ran
	s := newSite(t, sessionkit.Config{}, func(r *gin.Engine) {
		for _, tc := range cases {
			// A route middleware changes the session and responds; the
			// handler after it must not run when it aborts.
			r.Handle(tc.method, "/"+tc.name, func(c *gin.Context) {
				must(t, ginsession.Get(c).Put("via", tc.name))
				tc.respond(c)
			}, func(c *gin.Context) {
				reached.Store(tc.name, true)
			})
		}
		r.GET("/read", func(c *gin.Context) {
			via, _, err := sessionkit.Get[string](ginsession.Get(c), "via")
			must(t, err)
			late, _, err := sessionkit.Get[string](ginsession.Get(c), "late")
			must(t, err)
			c.String(http.StatusOK, via+late)
		})
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := s.do(tc.method, "/"+tc.name, "")
			if res.StatusCode != tc.status {
				t.Fatalf("status %d; want %d", res.StatusCode, tc.status)
			}
			c := checkSaved(t, res)
			want := tc.name
			if tc.name == "PutAfterStatus" {
				want += "yes"
			}
			if _, body := s.do("GET", "/read", c); body != want {
				t.Fatalf("the next request read %q; want %q", body, want)
			}
			if strings.HasPrefix(tc.name, "Abort") && ran(&reached, tc.name) {
				t.Fatal("the handler after an abort ran")
			}
		})
	}
}

// TestStream checks that c.Stream saves the session before its first
// flushed event and that the event reaches the client before the handler
// returns.
func TestStream(t *testing.T) {
	release := make(chan struct{})
	s := newSite(t, sessionkit.Config{}, func(r *gin.Engine) {
		r.GET("/events", func(c *gin.Context) {
			must(t, ginsession.Get(c).Put("stream", "on"))
			c.Header("Content-Type", "text/event-stream")
			n := 0
			c.Stream(func(w io.Writer) bool {
				n++
				if n == 2 {
					<-release
				}
				fmt.Fprintf(w, "data: %d\n\n", n)
				return n < 2
			})
		})
		r.GET("/read", func(c *gin.Context) {
			v, _, _ := sessionkit.Get[string](ginsession.Get(c), "stream")
			c.String(http.StatusOK, v)
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
	starts := map[string]func(c *gin.Context){
		"String":          func(c *gin.Context) { c.String(http.StatusOK, "body first") },
		"JSON":            func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{}) },
		"Flush":           func(c *gin.Context) { c.Writer.Flush() },
		"WriteHeaderNow":  func(c *gin.Context) { c.Writer.WriteHeaderNow() },
		"AbortWithStatus": func(c *gin.Context) { c.AbortWithStatus(http.StatusTeapot) },
	}
	s := newSite(t, sessionkit.Config{}, func(r *gin.Engine) {
		r.POST("/login", func(c *gin.Context) {
			must(t, ginsession.Get(c).Put("user", "gopher"))
		})
		for name, start := range starts {
			r.POST("/"+name, func(c *gin.Context) {
				start(c)
				sess := ginsession.Get(c)
				if err := sess.Put("late", 1); !errors.Is(err, sessionkit.ErrCommitted) {
					t.Errorf("%s: Put after the response started = %v; want ErrCommitted", name, err)
				}
				if err := sess.Destroy(); !errors.Is(err, sessionkit.ErrCommitted) {
					t.Errorf("%s: Destroy after the response started = %v; want ErrCommitted", name, err)
				}
			})
		}
		r.GET("/read", func(c *gin.Context) {
			sess := ginsession.Get(c)
			c.String(http.StatusOK, "%v %v", sess.Has("user"), sess.Has("late"))
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
	s := newSite(t, sessionkit.Config{}, func(r *gin.Engine) {
		r.GET("/public", func(c *gin.Context) { c.String(http.StatusOK, "public page") })
		r.POST("/login", func(c *gin.Context) { must(t, ginsession.Get(c).Put("user", "gopher")) })
		r.GET("/private", func(c *gin.Context) {
			v, _, _ := sessionkit.Get[string](ginsession.Get(c), "user")
			c.String(http.StatusOK, v)
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
// the session middleware, such as gin's logger, still reads the status
// and size of the response.
func TestOuterMiddlewareSeesResponse(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	m, err := sessionkit.New(sessionkit.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	var status, size int
	var written bool
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		status, size, written = c.Writer.Status(), c.Writer.Size(), c.Writer.Written()
	}, ginsession.New(m))
	r.GET("/", func(c *gin.Context) {
		_ = ginsession.Get(c).Put("k", 1)
		c.String(http.StatusCreated, "12345")
	})
	rr := httptest.NewRecorder()
	r.ServeHTTP(rr, httptest.NewRequest("GET", "https://example.test/", nil))
	if status != http.StatusCreated || size != 5 || !written {
		t.Fatalf("outer middleware saw status %d size %d written %v", status, size, written)
	}
	if rr.Code != http.StatusCreated || rr.Body.String() != "12345" || rr.Header().Get("Set-Cookie") == "" {
		t.Fatalf("response %d %q %v", rr.Code, rr.Body, rr.Header())
	}
}

func TestWithoutMiddleware(t *testing.T) {
	r := gin.New()
	r.GET("/", func(c *gin.Context) {
		s := ginsession.Get(c)
		if s == nil {
			t.Fatal("Get returned nil")
		}
		if err := s.Put("k", 1); !errors.Is(err, sessionkit.ErrNoSession) {
			t.Errorf("Put without the middleware = %v; want ErrNoSession", err)
		}
		if _, _, err := sessionkit.Get[int](s, "k"); !errors.Is(err, sessionkit.ErrNoSession) {
			t.Errorf("Get without the middleware = %v; want ErrNoSession", err)
		}
		c.Status(http.StatusNoContent)
	})
	rr := httptest.NewRecorder()
	r.ServeHTTP(rr, httptest.NewRequest("GET", "/", nil))
	if rr.Code != http.StatusNoContent {
		t.Fatalf("status %d", rr.Code)
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

// TestStoreFailures checks that a session that cannot be loaded stops the
// chain, and that one that cannot be saved withholds the handler's
// response, behind the manager's ErrorHandler.
func TestStoreFailures(t *testing.T) {
	base := memstore.New(memstore.Options{})
	defer base.Close()
	good := newSite(t, sessionkit.Config{Store: base}, func(r *gin.Engine) {
		r.POST("/", func(c *gin.Context) { must(t, ginsession.Get(c).Put("k", 1)) })
	})
	res, _ := good.do("POST", "/", "")
	cookie := checkSaved(t, res)

	down := fmt.Errorf("%w: connection refused", sessionkit.ErrUnavailable)
	cases := []struct {
		name    string
		store   failingStore
		cookie  string
		respond func(c *gin.Context)
		want    int
	}{
		{"Load", failingStore{Store: base, err: down}, cookie, func(c *gin.Context) { c.String(http.StatusOK, "secret page") }, http.StatusServiceUnavailable},
		{"CreateOnWrite", failingStore{Store: base, err: errors.New("constraint"), failCreate: true}, "", func(c *gin.Context) {
			c.JSON(http.StatusOK, gin.H{"secret": "page"})
		}, http.StatusInternalServerError},
		{"CreateOnAbort", failingStore{Store: base, err: down, failCreate: true}, "", func(c *gin.Context) {
			c.AbortWithStatusJSON(http.StatusConflict, gin.H{"secret": "page"})
		}, http.StatusServiceUnavailable},
		{"CreateAtEnd", failingStore{Store: base, err: down, failCreate: true}, "", func(c *gin.Context) {
			c.Status(http.StatusAccepted)
		}, http.StatusServiceUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var called atomic.Bool
			s := newSite(t, sessionkit.Config{Store: tc.store, Logger: slog.New(slog.DiscardHandler)}, func(r *gin.Engine) {
				r.GET("/", func(c *gin.Context) {
					called.Store(true)
					_ = ginsession.Get(c).Put("k", 2)
					tc.respond(c)
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
	s := newSite(t, sessionkit.Config{}, func(r *gin.Engine) {
		r.GET("/ws", func(c *gin.Context) {
			must(t, ginsession.Get(c).Put("k", "v"))
			conn, buf, err := c.Writer.Hijack()
			if err != nil {
				t.Errorf("Hijack through the middleware: %v", err)
				return
			}
			defer conn.Close()
			if err := ginsession.Get(c).Put("late", 1); !errors.Is(err, sessionkit.ErrCommitted) {
				t.Errorf("Put after Hijack = %v; want ErrCommitted", err)
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			buf.Flush()
		})
	})
	if res, body := s.do("GET", "/ws", ""); body != "ok" {
		t.Fatalf("hijacked response %d %q", res.StatusCode, body)
	}
}

// TestPanic checks that a handler that panics does not save its session
// and that gin.Recovery still answers.
func TestPanic(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	m, err := sessionkit.New(sessionkit.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) {
		c.AbortWithStatus(http.StatusInternalServerError)
	}), ginsession.New(m))
	r.GET("/", func(c *gin.Context) {
		must(t, ginsession.Get(c).Put("half", "done"))
		panic("handler bug")
	})
	rr := httptest.NewRecorder()
	r.ServeHTTP(rr, httptest.NewRequest("GET", "https://example.test/", nil))
	if rr.Code != http.StatusInternalServerError || rr.Header().Get("Set-Cookie") != "" {
		t.Fatalf("after a panic: %d %v; want 500 without a session cookie", rr.Code, rr.Header())
	}
}
