package cookiestore

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/recordcodec"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the sealed seeds in testdata/fuzz/FuzzOpen")

// fuzzNow is the fixed time of FuzzOpen; the seeds' records live until the
// next day.
var fuzzNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// fuzzStore returns the store of FuzzOpen: it seals with key2, opens with
// key2 and key1, and the session "revoked" and the user "gone" are revoked.
func fuzzStore(t testing.TB) *Store {
	revs := NewMemoryRevocations(func() time.Time { return fuzzNow })
	ctx := context.Background()
	s := newStore(t, Options{
		Keys:        [][]byte{key2, key1},
		Now:         func() time.Time { return fuzzNow },
		Revocations: revs,
	})
	if err := s.Revoke(ctx, record(fuzzNow, "revoked", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeUser(ctx, "gone", fuzzNow); err != nil {
		t.Fatal(err)
	}
	return s
}

// fuzzSeeds returns the sealed seeds by file name. Files named valid-* open
// in fuzzStore; the others do not.
func fuzzSeeds(t testing.TB) map[string]string {
	ctx := context.Background()
	seal := func(keys [][]byte, name string, rec *sessionkit.Record) string {
		s := newStore(t, Options{Keys: keys, CookieName: name, Now: func() time.Time { return fuzzNow }})
		v, err := s.Seal(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	live := record(fuzzNow.Add(-time.Minute), "seed", "alice")
	live.ExpiresAt = fuzzNow.Add(24 * time.Hour)
	live.AbsoluteExpiry = fuzzNow.Add(48 * time.Hour)
	empty := &sessionkit.Record{ID: "e", ExpiresAt: fuzzNow.Add(24 * time.Hour)}
	revoked := live.Clone()
	revoked.ID = "revoked"
	gone := live.Clone()
	gone.UserID = "gone"
	expired := live.Clone()
	expired.ExpiresAt = fuzzNow.Add(-time.Second)
	return map[string]string{
		"valid-current": seal([][]byte{key2}, "", live),
		"valid-old-key": seal([][]byte{key1}, "", live),
		"valid-empty":   seal([][]byte{key2}, "", empty),
		"revoked-id":    seal([][]byte{key2}, "", revoked),
		"revoked-user":  seal([][]byte{key2}, "", gone),
		"expired":       seal([][]byte{key2}, "", expired),
		"other-name":    seal([][]byte{key2}, "__Host-other", live),
		"unknown-key":   seal([][]byte{key(3)}, "", live),
	}
}

// TestFuzzSeeds checks that the sealed seeds in testdata still exercise what
// their names say; with -update-seeds it writes them.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	seeds := fuzzSeeds(t)
	if *updateSeeds {
		for name, v := range seeds {
			data := fmt.Sprintf("go test fuzz v1\nstring(%s)\n", strconv.Quote(v))
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := fuzzStore(t)
	for name := range seeds {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		if len(lines) < 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") {
			t.Fatalf("%s: not a fuzz corpus file", name)
		}
		v, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rec, reseal, err := s.OpenReseal(context.Background(), v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if valid := strings.HasPrefix(name, "valid-"); (rec != nil) != valid {
			t.Errorf("%s: opened %v, want %v", name, rec != nil, valid)
		}
		if reseal != (name == "valid-old-key") {
			t.Errorf("%s: reseal %v", name, reseal)
		}
	}
}

func FuzzOpen(f *testing.F) {
	for _, v := range []string{"", "v1.", "v2.AAAA", "v1." + strings.Repeat("A", 60), "v1.\n"} {
		f.Add(v)
	}
	s := fuzzStore(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, value string) {
		rec, reseal, err := s.OpenReseal(ctx, value)
		if err != nil {
			t.Fatalf("OpenReseal error %v", err)
		}
		if rec == nil {
			if reseal {
				t.Fatal("reseal without a record")
			}
			return
		}
		if !fuzzNow.Before(rec.ExpiresAt) || (!rec.AbsoluteExpiry.IsZero() && !fuzzNow.Before(rec.AbsoluteExpiry)) {
			t.Fatalf("opened an expired record %+v", rec)
		}
		if rec.ID == "revoked" || rec.UserID == "gone" {
			t.Fatalf("opened a revoked record %+v", rec)
		}
		// Only the canonical encoding of a sealed value opens.
		sealed, err := b64.DecodeString(value[len(version):])
		if err != nil || version+b64.EncodeToString(sealed) != value {
			t.Fatalf("opened a non-canonical value %q", value)
		}
		v2, err := s.Seal(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		rec2, reseal, err := s.OpenReseal(ctx, v2)
		if err != nil || reseal || !reflect.DeepEqual(rec, rec2) {
			t.Fatalf("sealing again: %+v, %v, %v; want %+v, false, nil", rec2, reseal, err, rec)
		}
	})
}

// FuzzParseRecord feeds the payload decoder directly, which FuzzOpen cannot
// reach without forging a value.
func FuzzParseRecord(f *testing.F) {
	f.Add(recordcodec.Append(nil, fuzzNow, record(fuzzNow, "id", "user")))
	f.Add(recordcodec.Append(nil, time.Time{}, &sessionkit.Record{}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, issuedAt, ok := recordcodec.Parse(b)
		if !ok {
			return
		}
		rec2, issuedAt2, ok := recordcodec.Parse(recordcodec.Append(nil, issuedAt, rec))
		if !ok || !issuedAt.Equal(issuedAt2) || !reflect.DeepEqual(normalize(rec), normalize(rec2)) {
			t.Fatalf("re-encoding changed %+v (%v) to %+v (%v)", rec, issuedAt, rec2, issuedAt2)
		}
	})
}

// normalize maps equal times to equal values, for reflect.DeepEqual.
func normalize(r *sessionkit.Record) *sessionkit.Record {
	r = r.Clone()
	for _, t := range []*time.Time{&r.CreatedAt, &r.LastSeen, &r.ExpiresAt, &r.AbsoluteExpiry} {
		if t.IsZero() {
			*t = time.Time{}
		}
	}
	return r
}
