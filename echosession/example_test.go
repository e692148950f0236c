package echosession_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/echosession"
	"github.com/sessionkit/sessionkit/memstore"
)

func ExampleNew() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	e.Use(echosession.New(sessions))
	e.POST("/login", func(c echo.Context) error {
		s := echosession.Get(c)
		if err := s.Renew(false); err != nil { // a new token at every login
			return err
		}
		s.SetUserID("42")
		s.Put("name", "Gopher")
		s.AddFlash("success", "Welcome back!")
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.GET("/", func(c echo.Context) error {
		s := echosession.Get(c)
		name, ok, err := sessionkit.Get[string](s, "name")
		if err != nil {
			return err
		}
		if !ok {
			return c.Redirect(http.StatusSeeOther, "/login")
		}
		flashes, _ := s.Flashes()
		return c.JSON(http.StatusOK, echo.Map{"hello": name, "flashes": flashes})
	})

	// Log in, then follow the redirect with the cookie the server set.
	login := httptest.NewRecorder()
	e.ServeHTTP(login, httptest.NewRequest("POST", "https://example.com/login", nil))
	cookie := login.Result().Cookies()[0]
	fmt.Println(login.Code, cookie.Name, login.Header().Get("Cache-Control"))

	home := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	req.AddCookie(cookie)
	e.ServeHTTP(home, req)
	fmt.Print(home.Body.String())
	// Output:
	// 303 __Host-sid no-store
	// {"flashes":[{"kind":"success","message":"Welcome back!"}],"hello":"Gopher"}
}

func ExampleGet() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, _ := sessionkit.New(sessionkit.Config{Store: store})

	e := echo.New()
	e.GET("/count", func(c echo.Context) error {
		s := echosession.Get(c)
		n, _, _ := sessionkit.Get[int](s, "visits")
		s.Put("visits", n+1)
		return c.String(http.StatusOK, fmt.Sprint("visit ", n+1))
	}, echosession.New(sessions))
	e.GET("/public", func(c echo.Context) error {
		// Not behind the middleware: every method reports ErrNoSession.
		err := echosession.Get(c).Put("visits", 0)
		return c.String(http.StatusOK, err.Error())
	})

	var cookie *http.Cookie
	for range 3 {
		rr := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "https://example.com/count", nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		e.ServeHTTP(rr, req)
		if c := rr.Result().Cookies(); len(c) > 0 {
			cookie = c[0]
		}
		fmt.Println(rr.Body.String())
	}
	rr := httptest.NewRecorder()
	e.ServeHTTP(rr, httptest.NewRequest("GET", "https://example.com/public", nil))
	fmt.Println(rr.Body.String())
	// Output:
	// visit 1
	// visit 2
	// visit 3
	// sessionkit: no session in context (is the middleware installed?)
}
