package redislayout

import (
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// benchRecord is a session as the benchmark application writes it.
func benchRecord() *sessionkit.Record {
	now := time.Now()
	return &sessionkit.Record{
		ID: "bench", Values: map[string][]byte{"user": []byte(`"gopher"`), "n": []byte("12")},
		Meta:      map[string]string{"ip": "192.0.2.1", "user_agent": "wrk"},
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(30 * time.Minute), AbsoluteExpiry: now.Add(24 * time.Hour),
	}
}

// strArgs collects the arguments of a script as strings.
type strArgs []string

func (a *strArgs) String(s string) { *a = append(*a, s) }
func (a *strArgs) Bytes(b []byte)  { *a = append(*a, string(b)) }
func (a *strArgs) Small(n int)     { *a = append(*a, strconv.Itoa(n)) }

// benchFields returns the hash of rec as HGETALL returns it.
func benchFields(l Layout, rec *sessionkit.Record) map[string]string {
	var args strArgs
	l.CreateArgs(&args, rec)
	fields := map[string]string{}
	for i := 1; i < len(args); i += 2 {
		fields[args[i]] = args[i+1]
	}
	return fields
}

// BenchmarkDecodeRecord measures the decoding of a session on every load.
func BenchmarkDecodeRecord(b *testing.B) {
	l, _ := New("")
	fields := benchFields(l, benchRecord())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRecord("bench", fields); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateArgs measures the arguments of the update script for a
// write of one value.
func BenchmarkUpdateArgs(b *testing.B) {
	l, _ := New("")
	now := time.Now()
	d := sessionkit.Delta{Set: map[string][]byte{"n": []byte("13")}, LastSeen: now, ExpiresAt: now.Add(30 * time.Minute)}
	b.ReportAllocs()
	for b.Loop() {
		args := make(strArgs, 0, 10)
		l.UpdateArgs(&args, d, now)
	}
}

// TestDecodeRecordRoundTrip checks that a record survives its hash.
func TestDecodeRecordRoundTrip(t *testing.T) {
	l, _ := New("")
	want := benchRecord()
	got, err := DecodeRecord(want.ID, benchFields(l, want))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != want.ID || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.LastSeen.Equal(want.LastSeen) || !got.AbsoluteExpiry.Equal(want.AbsoluteExpiry) ||
		!maps.Equal(got.Meta, want.Meta) || len(got.Values) != len(want.Values) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for k, v := range want.Values {
		if string(got.Values[k]) != string(v) {
			t.Fatalf("value %q = %q, want %q", k, got.Values[k], v)
		}
	}
}
