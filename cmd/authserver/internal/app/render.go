package app

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"home", "login", "register", "sessions", "reauth", "error"}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2 Jan 2006 15:04 UTC")
		},
		"device": describeUA,
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// page is the data of every template.
type page struct {
	Title    string
	User     *User
	Flashes  []sessionkit.Flash
	Error    string
	Username string // form value to show again
	Dev      bool
	Narrow   bool   // a small form page (sign in, register, re-authenticate)
	Next     string // re-authentication page: where it returns to
	Message  string // error page: what went wrong
	NoLinks  bool   // error page: no account links, which need the user

	// sessions page
	Devices        []device
	NoDeviceList   bool
	OtherDevices   int
	CurrentSession string
}

// device is one row of the "your devices" page.
type device struct {
	sessionkit.SessionInfo
	Current bool
}

// render writes the page with the status code. Rendering goes to a buffer
// first, so a template error becomes a clean 500.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	p.Dev = a.opts.Dev
	p.Narrow = name == "login" || name == "register" || name == "reauth"
	if p.Flashes == nil {
		p.Flashes, _ = a.sm.Session(r.Context()).Flashes()
	}
	var buf bytes.Buffer
	if err := a.pages[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		a.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorPages serves mux, and answers what mux has no route for with the
// app's own pages: 404 for an unknown path, 405 (with mux's Allow header)
// for a known path and another method.
func (a *App) errorPages(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No route: mux answers 404 or 405 in plain text (or redirects).
		// Keep its status and headers, replace its body.
		ew := &errorWriter{ResponseWriter: w}
		mux.ServeHTTP(ew, r)
		if ew.status != 0 {
			a.renderError(w, r, ew.status)
		}
	})
}

// errorWriter swallows a 404 or 405 answer and records its status; any
// other answer goes through.
type errorWriter struct {
	http.ResponseWriter
	status int
}

func (w *errorWriter) WriteHeader(code int) {
	if code == http.StatusNotFound || code == http.StatusMethodNotAllowed {
		w.status = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *errorWriter) Write(b []byte) (int, error) {
	if w.status != 0 {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// renderError answers status (404 or 405) with the app's error page. It
// neither looks up the user nor takes the queued flash messages, so it
// changes no session and creates none.
func (a *App) renderError(w http.ResponseWriter, r *http.Request, status int) {
	p := &page{Title: "Page not found", Message: "There is no page at this address.", NoLinks: true, Flashes: []sessionkit.Flash{}}
	if status == http.StatusMethodNotAllowed {
		p.Title, p.Message = "Method not allowed", "This address does not accept "+r.Method+" requests."
	}
	w.Header().Set("Cache-Control", "no-store")
	a.render(w, r, status, "error", p)
}

func (a *App) serverError(w http.ResponseWriter, r *http.Request, err error) {
	a.log.LogAttrs(r.Context(), slog.LevelError, "internal error",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	http.Error(w, "Something went wrong. Please try again.", http.StatusInternalServerError)
}

// describeUA turns a user agent into a short description such as
// "Chrome on Linux".
func describeUA(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"HeadlessChrome/", "Headless Chrome"}, {"Chrome/", "Chrome"},
		{"Firefox/", "Firefox"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client/", "Go HTTP client"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}
