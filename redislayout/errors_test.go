package redislayout

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// TestWrapError checks the classification that both stores share.
func TestWrapError(t *testing.T) {
	down := errors.New("dial tcp: connection refused")
	always := func(error) bool { return true }

	if err := WrapError(context.Background(), "st", "load", down, always); !errors.Is(err, sessionkit.ErrUnavailable) || !errors.Is(err, down) {
		t.Errorf("unreachable server: %v, want ErrUnavailable wrapping the cause", err)
	}
	if err := WrapError(context.Background(), "st", "load", down, func(error) bool { return false }); errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("an answer of the server: %v, want no ErrUnavailable", err)
	}

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := WrapError(canceled, "st", "load", down, always); !errors.Is(err, context.Canceled) || errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("canceled caller: %v, want context.Canceled and no ErrUnavailable", err)
	}

	// A deadline that has passed by the clock, though the context's timer
	// has not fired: the client saw it on the socket first.
	past := deadlineCtx{context.Background(), time.Now().Add(-time.Millisecond)}
	if err := WrapError(past, "st", "load", context.DeadlineExceeded, always); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("the caller's passed deadline: %v, want context.DeadlineExceeded and no ErrUnavailable", err)
	}
	future := deadlineCtx{context.Background(), time.Now().Add(time.Hour)}
	if err := WrapError(future, "st", "load", down, always); !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("a failure before the deadline: %v, want ErrUnavailable", err)
	}
}

// deadlineCtx has a deadline but never ends by itself.
type deadlineCtx struct {
	context.Context
	dl time.Time
}

func (c deadlineCtx) Deadline() (time.Time, bool) { return c.dl, true }

func TestUnavailableReply(t *testing.T) {
	for reply, want := range map[string]bool{
		"LOADING Redis is loading the dataset in memory":                                                                 true,
		"READONLY You can't write against a read only replica.":                                                          true,
		"CLUSTERDOWN The cluster is down":                                                                                true,
		"TRYAGAIN Multiple keys request during rehashing of slot":                                                        true,
		"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.":                               true,
		"NOREPLICAS Not enough good replicas to write.":                                                                  true,
		"ERR max number of clients reached":                                                                              true,
		"ERR Error running script (call to f_0): @user_script:1: -READONLY You can't write against a read only replica.": true,
		"WRONGTYPE Operation against a key holding the wrong kind of value":                                              false,
		"ERR malformed session header":                                                                                   false,
		"EXECABORT Transaction discarded because of previous errors.":                                                    false,
	} {
		if got := UnavailableReply(reply); got != want {
			t.Errorf("UnavailableReply(%q) = %v, want %v", reply, got, want)
		}
	}
}

// TestCursorRoundTrip checks that a cursor survives its encoding and that
// garbage is refused.
func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{Node: "10.0.0.1:6379", Scan: 1234, After: "sk:s:{abc}"}
	got, err := ParseCursor(c.String())
	if err != nil || got != c {
		t.Fatalf("ParseCursor(String()) = %+v, %v; want %+v", got, err, c)
	}
	for _, bad := range []string{"!!", "YWJj", "YQBiAGM"} {
		if _, err := ParseCursor(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCursor(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}
