package testserver

import (
	"net"
	"strconv"
	"testing"
	"time"
)

func TestStartPostgres(t *testing.T) {
	pg := StartPostgres(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(pg.Port))
	dial := func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("server not reachable: %v", err)
	}
	dsn := pg.CreateDatabase(t, "other_db")
	if want := "/other_db?"; !containsStr(dsn, want) {
		t.Errorf("CreateDatabase DSN = %q, want it to contain %q", dsn, want)
	}
	pg.Stop()
	if err := dial(); err == nil {
		t.Fatal("server still reachable after Stop")
	}
	pg.Start()
	if err := dial(); err != nil {
		t.Fatalf("server not reachable after Start: %v", err)
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
