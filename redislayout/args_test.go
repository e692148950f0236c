package redislayout

import (
	"slices"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// TestScriptArgs pins the arguments of the create, update and touch
// scripts, bulk string by bulk string: both stores send them, so they must
// stay byte-identical whatever the builders do to save allocations.
func TestScriptArgs(t *testing.T) {
	l, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	l = l.WithKeepExpired(time.Minute)
	at := func(ns int64) time.Time { return time.Unix(0, ns) }
	uid, persist := "u42", true
	now := at(1_700_000_000_123_456_789)
	rec := &sessionkit.Record{
		ID: "id", UserID: uid, Values: map[string][]byte{"a": []byte("1")},
		Meta:      map[string]string{"ip": "192.0.2.1"},
		CreatedAt: at(1_600_000_000_000_000_001), LastSeen: at(1_700_000_000_000_000_002),
		ExpiresAt: at(1_700_000_001_000_000_003), AbsoluteExpiry: at(1_700_000_002_000_000_004), Persistent: true,
	}
	single := sessionkit.Delta{
		Set: map[string][]byte{"n": []byte("13")}, Del: []string{"x", "yy"}, Clear: true, UserID: &uid, Persistent: &persist,
		LastSeen: at(1_700_000_000_000_000_005), ExpiresAt: at(1_700_000_001_000_000_006), AbsoluteExpiry: at(1_700_000_002_000_000_007),
	}
	plain := sessionkit.Delta{LastSeen: at(1_700_000_000_000_000_008), ExpiresAt: at(1_700_000_001_000_000_009)}
	empty := plain
	empty.Set = map[string][]byte{"e": nil}
	for _, tc := range []struct {
		name  string
		build func(Args)
		want  []string
	}{
		{"create", func(a Args) { l.CreateArgs(a, rec) }, []string{
			"1700000061000", "t", "1700000001000000003 1700000000000000002",
			"h", "1700000002000000004 1600000000000000001 1 u42", "m", "2:ip9:192.0.2.1", "v:a", "1",
		}},
		{"update", func(a Args) { l.UpdateArgs(a, single, now) }, []string{
			"1700000061000", "1700000001000000006 1700000000000000005", "1700000000123456789", "1",
			"1700000002000000007", "1", "=u42", "2", "v:x", "v:yy", "v:n", "13",
		}},
		{"update without changes", func(a Args) { l.UpdateArgs(a, plain, now) }, []string{
			"1700000061000", "1700000001000000009 1700000000000000008", "1700000000123456789", "0", "", "", "", "0",
		}},
		{"update of an empty value", func(a Args) { l.UpdateArgs(a, empty, now) }, []string{
			"1700000061000", "1700000001000000009 1700000000000000008", "1700000000123456789", "0", "", "", "", "0", "v:e", "",
		}},
		{"touch", func(a Args) { l.TouchArgs(a, plain.LastSeen, plain.ExpiresAt, now) }, []string{
			"1700000061000", "1700000001000000009 1700000000000000008", "1700000000123456789",
		}},
	} {
		var got strArgs
		tc.build(&got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: arguments\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
}
