package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestREADME checks that the README's quick start is this program, byte for
// byte, so that the code a new user copies is the code this package tests.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- quickstart: examples/quickstart/main.go -->\n```go\n"
	_, rest, ok := bytes.Cut(readme, []byte(marker))
	if !ok {
		t.Fatalf("README.md has no %q block", marker)
	}
	block, _, ok := bytes.Cut(rest, []byte("```\n"))
	if !ok {
		t.Fatal("README.md: the quick start block is not closed")
	}
	if !bytes.Equal(block, src) {
		t.Error("README.md's quick start differs from examples/quickstart/main.go; copy main.go into the README")
	}
}

// TestProgram builds the quick start, runs it as a user would, and walks
// through the home page, a login and a logout over HTTP.
func TestProgram(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "quickstart")
	build := exec.Command("go", "build", "-o", bin, ".") // go test puts its go first in PATH
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-addr", addr)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("program output:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	waitUp(t, base+"/")

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, cookie string, form url.Values) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	if res, body := do("GET", "/", "", nil); res.StatusCode != 200 || !strings.Contains(body, `action="/login"`) {
		t.Fatalf("home page: %d %q", res.StatusCode, body)
	}
	if res, _ := do("GET", "/nope", "", nil); res.StatusCode != 404 {
		t.Errorf("GET /nope: %d, want 404", res.StatusCode)
	}
	res, _ := do("POST", "/login", "", url.Values{"name": {"<Gopher>"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	cookies := res.Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-sid" || !cookies[0].Secure || !cookies[0].HttpOnly {
		t.Fatalf("login cookie: %v", res.Header["Set-Cookie"])
	}
	session := cookies[0].Name + "=" + cookies[0].Value
	if res, body := do("GET", "/", session, nil); res.StatusCode != 200 || !strings.Contains(body, "Hello, &lt;Gopher&gt;!") {
		t.Fatalf("home page after login: %d %q", res.StatusCode, body)
	}
	res, _ = do("POST", "/logout", session, url.Values{})
	if res.StatusCode != http.StatusSeeOther || len(res.Cookies()) != 1 || res.Cookies()[0].MaxAge >= 0 {
		t.Fatalf("logout: %d, cookies %v", res.StatusCode, res.Header["Set-Cookie"])
	}
	if _, body := do("GET", "/", session, nil); strings.Contains(body, "Hello") {
		t.Fatalf("the session survived logout: %q", body)
	}

	// A form posted from another site is refused.
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader("name=mallory"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	cross, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cross.Body.Close()
	if cross.StatusCode != http.StatusForbidden || len(cross.Cookies()) != 0 {
		t.Errorf("cross-site login: %d, cookies %v; want 403 and none", cross.StatusCode, cross.Header["Set-Cookie"])
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitUp(t *testing.T, u string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(u)
		if err == nil {
			res.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the program did not answer at %s: %v", u, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
