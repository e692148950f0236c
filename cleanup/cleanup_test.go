package cleanup

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

func TestLoop(t *testing.T) {
	var passes, failures atomic.Int64
	l := Start(5*time.Millisecond, time.Second, func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("a pass has no deadline")
		}
		if passes.Add(1)%2 == 0 {
			return errors.New("backend down")
		}
		return nil
	}, func(error) { failures.Add(1) })
	for deadline := time.Now().Add(5 * time.Second); passes.Load() < 4; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the loop does not run")
		}
	}
	l.Stop()
	l.Stop()
	n := passes.Load()
	time.Sleep(30 * time.Millisecond)
	if passes.Load() != n {
		t.Fatal("passes ran after Stop")
	}
	if failures.Load() == 0 {
		t.Fatal("errors were not reported")
	}
}

func TestDisabled(t *testing.T) {
	l := Start(0, time.Second, func(context.Context) error {
		t.Error("a disabled loop ran")
		return nil
	}, nil)
	l.Stop()
}

// lines is an io.Writer that passes each write, one log line, to the
// test, and drops lines while the test is not reading.
type lines chan string

func (l lines) Write(p []byte) (int, error) {
	select {
	case l <- string(p):
	default:
	}
	return len(p), nil
}

func TestConfig(t *testing.T) {
	t.Run("DefaultIntervalAndLog", func(t *testing.T) {
		out := make(lines, 1)
		l := Config{
			DefaultInterval: 5 * time.Millisecond,
			Timeout:         time.Second,
			Logger:          slog.New(slog.NewTextHandler(out, nil)),
			Message:         "store: deleting expired sessions failed",
			Attrs:           []slog.Attr{slog.String("table", "sessions")},
		}.Start(func(ctx context.Context) (int, error) {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("a pass has no deadline")
			}
			return 3, errors.New("backend down")
		})
		defer l.Stop()
		want := `level=ERROR msg="store: deleting expired sessions failed" table=sessions error="backend down"`
		select {
		case line := <-out:
			if !strings.Contains(line, want) {
				t.Fatalf("logged %q; want a line with %s", line, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a failed pass logged nothing within 5s")
		}
	})

	t.Run("IntervalOverridesDefault", func(t *testing.T) {
		var passes atomic.Int64
		l := Config{Interval: 5 * time.Millisecond, DefaultInterval: time.Hour, Timeout: time.Second}.Start(
			func(context.Context) (int, error) {
				passes.Add(1)
				return 0, nil
			})
		defer l.Stop()
		for deadline := time.Now().Add(5 * time.Second); passes.Load() < 2; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the loop does not run at Interval")
			}
		}
	})

	t.Run("NegativeIntervalDisables", func(t *testing.T) {
		l := Config{Interval: -1, DefaultInterval: time.Millisecond, Timeout: time.Second}.Start(
			func(context.Context) (int, error) {
				t.Error("a disabled loop ran")
				return 0, nil
			})
		time.Sleep(20 * time.Millisecond)
		l.Stop()
	})
}

func TestKeepExpired(t *testing.T) {
	for _, tt := range []struct{ keep, want time.Duration }{
		{0, sessionkit.DefaultKeepExpired},
		{-1, 0},
		{-time.Hour, 0},
		{time.Nanosecond, time.Nanosecond},
		{time.Hour, time.Hour},
	} {
		if got := KeepExpired(tt.keep); got != tt.want {
			t.Errorf("KeepExpired(%v) = %v, want %v", tt.keep, got, tt.want)
		}
	}
}
