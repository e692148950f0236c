package redislayout

import (
	"maps"
	"strconv"
	"strings"
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
	f.Add(EncodeHeader(rec), EncodeTimes(rec.ExpiresAt, rec.LastSeen), EncodeMeta(rec.Meta))
	f.Add(EncodeHeader(&sessionkit.Record{}), EncodeTimes(time.Time{}, time.Time{}), "")
	f.Fuzz(func(t *testing.T, header, times, meta string) {
		got, err := DecodeRecord("id", map[string]string{FieldHeader: header, FieldTimes: times, FieldMeta: meta, "v:k": "v"})
		if err != nil {
			return
		}
		again, err := DecodeRecord("id", map[string]string{
			FieldHeader: EncodeHeader(got), FieldTimes: EncodeTimes(got.ExpiresAt, got.LastSeen),
			FieldMeta: EncodeMeta(got.Meta), "v:k": "v",
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

// FuzzParseInt checks that parseInt, which parses the times of every
// load, accepts and returns exactly what strconv.ParseInt does in base 10.
func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-0", "+7", "1795748755107782031", "-1795748755107782031",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551616", "00000000000000000000042", "", "-", "+", "1 2", "12a", "1_000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := strconv.ParseInt(s, 10, 64)
		got, ok := parseInt(s)
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("parseInt(%q) = %d, %v; strconv.ParseInt = %d, %v", s, got, ok, want, err)
		}
	})
}

// TestDecodedValuesAreSeparate checks that the values of a decoded record,
// which share one buffer, behave as separate slices: appending to one
// leaves the others as they were, and an empty value stays empty; with
// few values and with more than DecodeRecord notes on its stack.
func TestDecodedValuesAreSeparate(t *testing.T) {
	for _, n := range []int{3, 20} {
		rec := &sessionkit.Record{CreatedAt: time.Now()}
		fields := map[string]string{
			FieldHeader: EncodeHeader(rec), FieldTimes: EncodeTimes(time.Now(), time.Now()), "v:empty": "",
		}
		want := map[string]string{"empty": "XYZ"}
		for i := range n {
			k := strconv.Itoa(i)
			fields[ValuePrefix+k] = strings.Repeat(k, i+1)
			want[k] = strings.Repeat(k, i+1) + "XYZ"
		}
		checkSeparate(t, fields, want)
	}
}

// checkSeparate decodes fields, appends "XYZ" to every value and checks
// that the values are then want.
func checkSeparate(t *testing.T, fields, want map[string]string) {
	t.Helper()
	got, err := DecodeRecord("id", fields)
	if err != nil {
		t.Fatal(err)
	}
	for k := range got.Values {
		got.Values[k] = append(got.Values[k], "XYZ"...)
	}
	for k, v := range want {
		if string(got.Values[k]) != v {
			t.Errorf("value %q = %q after appending to every value, want %q", k, got.Values[k], v)
		}
	}
	if len(got.Values) != len(want) {
		t.Errorf("decoded %d values, want %d", len(got.Values), len(want))
	}
}
