package ginsession_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/ginsession"
	"github.com/sessionkit/sessionkit/memstore"
)

func ExampleNew() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(ginsession.New(sessions))
	r.POST("/login", func(c *gin.Context) {
		s := ginsession.Get(c)
		if err := s.Renew(false); err != nil { // a new token at every login
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		s.SetUserID("42")
		s.Put("name", "Gopher")
		s.AddFlash("success", "Welcome back!")
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.GET("/", func(c *gin.Context) {
		s := ginsession.Get(c)
		name, ok, err := sessionkit.Get[string](s, "name")
		if err != nil || !ok {
			c.Redirect(http.StatusSeeOther, "/login")
			return
		}
		flashes, _ := s.Flashes()
		c.JSON(http.StatusOK, gin.H{"hello": name, "flashes": flashes})
	})

	// Log in, then follow the redirect with the cookie the server set.
	login := httptest.NewRecorder()
	r.ServeHTTP(login, httptest.NewRequest("POST", "https://example.com/login", nil))
	cookie := login.Result().Cookies()[0]
	fmt.Println(login.Code, cookie.Name, login.Header().Get("Cache-Control"))

	home := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	req.AddCookie(cookie)
	r.ServeHTTP(home, req)
	fmt.Println(home.Body.String())
	// Output:
	// 303 __Host-sid no-store
	// {"flashes":[{"kind":"success","message":"Welcome back!"}],"hello":"Gopher"}
}

func ExampleGet() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, _ := sessionkit.New(sessionkit.Config{Store: store})

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/count", ginsession.New(sessions), func(c *gin.Context) {
		s := ginsession.Get(c)
		n, _, _ := sessionkit.Get[int](s, "visits")
		s.Put("visits", n+1)
		c.String(http.StatusOK, "visit %d", n+1)
	})
	r.GET("/public", func(c *gin.Context) {
		// Not behind the middleware: every method reports ErrNoSession.
		err := ginsession.Get(c).Put("visits", 0)
		c.String(http.StatusOK, "%v", err)
	})

	var cookie *http.Cookie
	for range 3 {
		rr := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "https://example.com/count", nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		r.ServeHTTP(rr, req)
		if c := rr.Result().Cookies(); len(c) > 0 {
			cookie = c[0]
		}
		fmt.Println(rr.Body.String())
	}
	rr := httptest.NewRecorder()
	r.ServeHTTP(rr, httptest.NewRequest("GET", "https://example.com/public", nil))
	fmt.Println(rr.Body.String())
	// Output:
	// visit 1
	// visit 2
	// visit 3
	// sessionkit: no session in context (is the middleware installed?)
}
