package redisstore

import (
	"maps"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// FuzzDecodeRecord feeds arbitrary header, times and metadata fields to the
// parser of session hashes. Whatever it accepts must survive being written back and
// read again unchanged; nothing may panic.
func FuzzDecodeRecord(f *testing.F) {
	now := time.Unix(1795748755, 107782031)
	rec := &sessionkit.Record{
		UserID: "42", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour),
		AbsoluteExpiry: now.Add(24 * time.Hour), Persistent: true,
		Meta: map[string]string{"ip": "192.0.2.1", "ua": "Mozilla/5.0"},
	}
	f.Add(encodeHeader(rec), encodeTimes(rec.ExpiresAt, rec.LastSeen), encodeMeta(rec.Meta))
	f.Add(encodeHeader(&sessionkit.Record{}), encodeTimes(time.Time{}, time.Time{}), "")
	f.Fuzz(func(t *testing.T, header, times, meta string) {
		got, err := decodeRecord("id", map[string]string{fieldHeader: header, fieldTimes: times, fieldMeta: meta, "v:k": "v"})
		if err != nil {
			return
		}
		again, err := decodeRecord("id", map[string]string{
			fieldHeader: encodeHeader(got), fieldTimes: encodeTimes(got.ExpiresAt, got.LastSeen),
			fieldMeta: encodeMeta(got.Meta), "v:k": "v",
		})
		if err != nil {
			t.Fatalf("decoding the re-encoded %+v: %v", got, err)
		}
		if again.UserID != got.UserID || !again.CreatedAt.Equal(got.CreatedAt) || !again.LastSeen.Equal(got.LastSeen) ||
			!again.ExpiresAt.Equal(got.ExpiresAt) || !again.AbsoluteExpiry.Equal(got.AbsoluteExpiry) ||
			again.Persistent != got.Persistent || !maps.Equal(again.Meta, got.Meta) || string(again.Values["k"]) != "v" {
			t.Fatalf("round trip changed %+v into %+v", got, again)
		}
	})
}
