package rueidistest

import (
	"strconv"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/rueidisstore"
)

// BenchmarkStore runs the calls a request makes on the store, one at a
// time, against a real redis-server (started here; skipped without one),
// with and without Options.CacheTTL: load is Load of a session with two
// values and the default metadata, update is Update of one value, touch is
// Touch. A cached load is served from the client's memory, so its ns/op
// is the store's own CPU time (with rueidis's cache lookup); B/op and
// allocs/op count the store's allocations and rueidis's:
//
//	go test -run '^$' -bench Store -benchmem -count 6
func BenchmarkStore(b *testing.B) {
	addr := testserver.StartRedis(b).Addr
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	ctx := b.Context()
	for _, ttl := range []time.Duration{0, time.Minute} {
		st, err := rueidisstore.New(c, rueidisstore.Options{CacheTTL: ttl})
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		rec := &sessionkit.Record{
			ID:        "bench-" + ttl.String(),
			Values:    map[string][]byte{"user": []byte(`"gopher"`), "n": []byte("12")},
			Meta:      map[string]string{"ip": "192.0.2.1", "user_agent": "wrk/4.2.0"},
			CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour), AbsoluteExpiry: now.Add(24 * time.Hour),
		}
		if err := st.Create(ctx, rec); err != nil {
			b.Fatal(err)
		}
		name := "cache=" + strconv.FormatBool(ttl > 0)
		b.Run(name+"/op=load", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got, err := st.Load(ctx, rec.ID); got == nil || err != nil {
					b.Fatalf("Load = %v, %v", got, err)
				}
			}
		})
		b.Run(name+"/op=update", func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				t := time.Now()
				d := sessionkit.Delta{Set: map[string][]byte{"n": strconv.AppendInt(nil, int64(n), 10)}, LastSeen: t, ExpiresAt: t.Add(time.Hour)}
				if err := st.Update(ctx, rec.ID, d); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/op=touch", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t := time.Now()
				if err := st.Touch(ctx, rec.ID, t, t.Add(time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
