package sessionkit

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/textproto"
	"strings"
	"time"
)

// Default cookie names, used when CookieConfig.Name is empty.
const (
	DefaultCookieName         = "__Host-sid"
	DefaultInsecureCookieName = "sid" // with CookieConfig.Insecure
)

// CookieConfig sets the session cookie. The defaults follow OWASP: a
// __Host- prefixed name, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain.
// The cookie is always HttpOnly.
type CookieConfig struct {
	// Name is the cookie name (default "__Host-sid", or "sid" when
	// Insecure).
	Name string
	// Domain is empty by default, which keeps the cookie on the exact host.
	// A __Host- name cannot have one.
	Domain string
	// Path defaults to "/". A __Host- name requires "/".
	Path string
	// SameSite defaults to http.SameSiteLaxMode; http.SameSiteDefaultMode
	// leaves the attribute out.
	SameSite http.SameSite
	// Insecure drops the Secure attribute, for plain-HTTP development on
	// localhost only. It must be set explicitly, and the manager logs a
	// warning when it is.
	Insecure bool
	// Partitioned sets the Partitioned attribute (CHIPS).
	Partitioned bool
}

// normalize fills in the defaults of c and refuses contradictory attributes.
func (c CookieConfig) normalize() (CookieConfig, error) {
	if c.Name == "" {
		c.Name = DefaultCookieName
		if c.Insecure {
			c.Name = DefaultInsecureCookieName
		}
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	probe := &http.Cookie{Name: c.Name, Value: "x", Path: c.Path, Domain: c.Domain}
	if err := probe.Valid(); err != nil {
		return c, fmt.Errorf("sessionkit: invalid cookie configuration: %w", err)
	}
	host, secure := strings.HasPrefix(c.Name, "__Host-"), strings.HasPrefix(c.Name, "__Secure-")
	switch {
	case host && c.Insecure:
		return c, fmt.Errorf("sessionkit: cookie %q: a __Host- cookie must be Secure; choose another name for plain-HTTP development", c.Name)
	case host && c.Domain != "":
		return c, fmt.Errorf("sessionkit: cookie %q: a __Host- cookie cannot have a Domain", c.Name)
	case host && c.Path != "/":
		return c, fmt.Errorf("sessionkit: cookie %q: a __Host- cookie must have Path=/", c.Name)
	case secure && c.Insecure:
		return c, fmt.Errorf("sessionkit: cookie %q: a __Secure- cookie must be Secure", c.Name)
	case c.SameSite == http.SameSiteNoneMode && c.Insecure:
		return c, errors.New("sessionkit: SameSite=None requires a Secure cookie")
	case c.Partitioned && c.Insecure:
		return c, errors.New("sessionkit: a Partitioned cookie must be Secure")
	}
	return c, nil
}

// maxCookieValues is how many cookies of the session's name a request may
// carry that the manager tries, in order, before giving up: a shadowing
// cookie (set by a sibling subdomain or a path-scoped cookie) comes first in
// the header but must not hide, nor get cleared in place of, the real one.
const maxCookieValues = 5

// cookieValues returns the values of the cookies named name in the
// request's Cookie headers, in order and at most maxCookieValues of them,
// appended to dst, without parsing the other cookies.
func cookieValues(dst []string, h http.Header, name string) []string {
	values := dst
	for _, line := range h["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			part = textproto.TrimString(part)
			n, v, ok := strings.Cut(part, "=")
			if !ok || n != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if values = append(values, v); len(values)-len(dst) == maxCookieValues {
				return values
			}
		}
	}
	return values
}

// cookie returns the session cookie carrying value: a browser-session
// cookie, or for a persistent session one whose Max-Age matches expiresAt.
// An empty value gives a cookie that deletes the session cookie.
func (c *CookieConfig) cookie(value string, persistent bool, expiresAt, now time.Time) *http.Cookie {
	hc := &http.Cookie{
		Name: c.Name, Value: value, Path: c.Path, Domain: c.Domain, Secure: !c.Insecure,
		HttpOnly: true, SameSite: c.SameSite, Partitioned: c.Partitioned,
	}
	if persistent {
		hc.MaxAge, hc.Expires = int(math.Ceil(expiresAt.Sub(now).Seconds())), expiresAt.UTC()
	}
	if value == "" || persistent && hc.MaxAge <= 0 {
		hc.Value, hc.MaxAge, hc.Expires = "", -1, time.Unix(1, 0)
	}
	return hc
}
