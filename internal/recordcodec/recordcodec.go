// Package recordcodec is a compact binary encoding of sessionkit.Record,
// shared by the stores that keep records as bytes: the plaintext of
// cookiestore's sealed cookies and memstore's in-memory entries.
package recordcodec

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/sessionkit/sessionkit"
)

// The encoding (JSON would base64 the values a second time):
//
//	issued-at   time (cookiestore: when the value was sealed)
//	ID          string
//	UserID      string
//	CreatedAt, LastSeen, ExpiresAt, AbsoluteExpiry  time
//	Persistent  byte 0 or 1
//	Values      uvarint count, then count × (key string, value string)
//	Meta        uvarint count, then count × (key string, value string)
//
// A string is a uvarint length followed by the bytes. A time is a byte 0 for
// the zero time, or a byte 1 followed by the Unix seconds (varint) and the
// nanoseconds (uvarint). Map entries are written in key order.

// Append appends the encoding of rec, stamped issuedAt, to b.
func Append(b []byte, issuedAt time.Time, rec *sessionkit.Record) []byte {
	b = appendTime(b, issuedAt)
	b = appendString(b, rec.ID)
	b = appendString(b, rec.UserID)
	b = appendTime(b, rec.CreatedAt)
	b = appendTime(b, rec.LastSeen)
	b = appendTime(b, rec.ExpiresAt)
	b = appendTime(b, rec.AbsoluteExpiry)
	if rec.Persistent {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	// Up to len(keys) keys are sorted without allocating.
	var keys [8]string
	b = binary.AppendUvarint(b, uint64(len(rec.Values)))
	for _, k := range sortedKeys(keys[:0], rec.Values) {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(rec.Values[k])))
		b = append(b, rec.Values[k]...)
	}
	b = binary.AppendUvarint(b, uint64(len(rec.Meta)))
	for _, k := range sortedKeys(keys[:0], rec.Meta) {
		b = appendString(b, k)
		b = appendString(b, rec.Meta[k])
	}
	return b
}

// sortedKeys appends the keys of m to keys, in order.
func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// Parse decodes a record encoded by Append. The returned record's Values
// map is never nil; its Meta map is nil when empty. The values are slices
// of b, which the caller must therefore not modify afterwards. Times are in
// UTC. ok is false if b is not exactly one valid encoding.
func Parse(b []byte) (rec *sessionkit.Record, issuedAt time.Time, ok bool) {
	// One string for all the strings in the record: they are substrings.
	d := decoder{b: b, s: string(b)}
	issuedAt = d.time()
	rec = &sessionkit.Record{
		ID:             d.string(),
		UserID:         d.string(),
		CreatedAt:      d.time(),
		LastSeen:       d.time(),
		ExpiresAt:      d.time(),
		AbsoluteExpiry: d.time(),
	}
	switch d.byte() {
	case 0:
	case 1:
		rec.Persistent = true
	default:
		d.fail()
	}
	// Every entry takes at least two bytes, which bounds the counts by
	// the input size before anything is allocated.
	n := d.count()
	rec.Values = make(map[string][]byte, n)
	for range n {
		k := d.string()
		rec.Values[k] = d.bytes()
	}
	if n := d.count(); n > 0 {
		rec.Meta = make(map[string]string, n)
		for range n {
			k := d.string()
			rec.Meta[k] = d.string()
		}
	}
	if d.bad || d.off != len(d.b) {
		return nil, time.Time{}, false
	}
	return rec, issuedAt, true
}

// decoder reads the encoding of Append from b, which s holds as a string.
// After the first error it returns zero values and sets bad.
type decoder struct {
	b   []byte
	s   string
	off int
	bad bool
}

func (d *decoder) fail() {
	d.off, d.bad = len(d.b), true
}

func (d *decoder) byte() byte {
	if d.off >= len(d.b) {
		d.fail()
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail()
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail()
		return 0
	}
	d.off += n
	return v
}

// count reads a map size, failing if the rest of the input could not hold
// that many entries of at least two bytes each.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64((len(d.b)-d.off)/2) {
		d.fail()
		return 0
	}
	return int(n)
}

// span reads a length and returns the bounds of that many bytes.
func (d *decoder) span() (int, int) {
	n := d.uvarint()
	if n > uint64(len(d.b)-d.off) {
		d.fail()
		return d.off, d.off
	}
	start := d.off
	d.off += int(n)
	return start, d.off
}

func (d *decoder) string() string {
	i, j := d.span()
	return d.s[i:j]
}

// bytes returns the next length-prefixed bytes as a slice of the input,
// with its capacity cut so that an append cannot overwrite what follows.
func (d *decoder) bytes() []byte {
	i, j := d.span()
	return d.b[i:j:j]
}

func (d *decoder) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		sec := d.varint()
		nsec := d.uvarint()
		if nsec >= uint64(time.Second) {
			d.fail()
			return time.Time{}
		}
		return time.Unix(sec, int64(nsec)).UTC()
	default:
		d.fail()
		return time.Time{}
	}
}
