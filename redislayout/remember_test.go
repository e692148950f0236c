package redislayout

import (
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/remember"
)

func TestRememberTokenRoundTrip(t *testing.T) {
	now := time.Now()
	want := remember.Token{
		Selector: "sel", UserID: "u1", Hash: [32]byte{1, 2}, PrevHash: [32]byte{3},
		GraceUntil: now.Add(time.Second), CreatedAt: now, ExpiresAt: now.Add(time.Hour), UserAgent: "agent",
	}
	args := RememberCreateArgs(want)
	fields := map[string]string{}
	for i := 1; i < len(args); i += 2 {
		fields[args[i]] = args[i+1]
	}
	got, err := DecodeRememberToken("sel", fields)
	if err != nil {
		t.Fatal(err)
	}
	if got.Selector != want.Selector || got.UserID != want.UserID || got.Hash != want.Hash || got.PrevHash != want.PrevHash ||
		!got.GraceUntil.Equal(want.GraceUntil) || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || got.UserAgent != want.UserAgent {
		t.Errorf("round trip: got %+v, want %+v", got, want)
	}
	if _, err := DecodeRememberToken("sel", nil); !errors.Is(err, remember.ErrNotFound) {
		t.Errorf("no fields: %v, want ErrNotFound", err)
	}
	fields[RememberFieldExpires] = "soon"
	if _, err := DecodeRememberToken("sel", fields); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad time: %v, want ErrMalformed", err)
	}
	fields[RememberFieldHash] = "short"
	if _, err := DecodeRememberToken("sel", fields); !errors.Is(err, ErrMalformed) {
		t.Errorf("short hash: %v, want ErrMalformed", err)
	}
}
