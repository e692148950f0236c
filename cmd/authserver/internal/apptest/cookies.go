package apptest

import (
	"net/http"
	"net/url"
)

// Cookie returns the cookie name in c's jar, or nil.
func (c *Client) Cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.base)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}
