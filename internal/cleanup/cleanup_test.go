package cleanup

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
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
