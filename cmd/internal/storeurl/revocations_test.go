package storeurl

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// TestCookieRevocationsShared checks that with a shared revocation list a
// logout through one app instance ends the cookie on another instance and
// after a restart, while the default in-memory list is per instance.
func TestCookieRevocationsShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	open := func(revocations string) *Backend {
		t.Helper()
		b, err := Open(ctx, "cookie:", Options{
			DataDir: dir, CookieKeys: [][]byte{[]byte("storeurl test key of 32 bytes or more")},
			Revocations: revocations, CleanupInterval: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	now := time.Now()
	rec := &sessionkit.Record{ID: "s1", UserID: "alice", CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(time.Hour), AbsoluteExpiry: now.Add(24 * time.Hour)}
	opens := func(b *Backend, value string) bool {
		t.Helper()
		got, err := b.ClientStore.Open(ctx, value)
		if err != nil {
			t.Fatal(err)
		}
		return got != nil
	}
	for _, tc := range []struct {
		url    string
		shared bool
	}{
		{"", false},
		{"memory:", false},
		{"sqlite:", true},
		{"sqlite:" + filepath.Join(dir, "other.db"), true},
	} {
		a, b := open(tc.url), open(tc.url)
		value, err := a.ClientStore.Seal(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.ClientStore.Revoke(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if opens(a, value) {
			t.Errorf("%q: a revoked cookie opens on the instance that revoked it", tc.url)
		}
		if opens(b, value) == tc.shared {
			t.Errorf("%q: a revoked cookie opens on another instance = %v, want %v", tc.url, !tc.shared, !tc.shared)
		}
		a.Close()
		if opens(open(tc.url), value) == tc.shared {
			t.Errorf("%q: a revoked cookie opens after a restart = %v, want %v", tc.url, !tc.shared, !tc.shared)
		}
		rec.ID += "x" // a fresh session for the next list
	}
	if _, err := Open(ctx, "cookie:", Options{CookieKeys: [][]byte{make([]byte, 32)}, Revocations: "ftp://x"}); !errors.Is(err, ErrBadURL) {
		t.Errorf("unknown revocation list: %v, want ErrBadURL", err)
	}
	if _, err := Open(ctx, "memory:", Options{Revocations: "sqlite:"}); !errors.Is(err, ErrBadURL) {
		t.Errorf("revocation list with a server-side store: %v, want ErrBadURL", err)
	}
}
