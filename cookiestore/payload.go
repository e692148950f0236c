package cookiestore

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/sessionkit/sessionkit"
)

// The plaintext of a v1 value is a compact binary encoding of the record
// (JSON would base64 the values a second time):
//
//	issued-at   time (when the value was sealed)
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

// appendRecord appends the encoding of rec, sealed at issuedAt, to b.
func appendRecord(b []byte, issuedAt time.Time, rec *sessionkit.Record) []byte {
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
	b = binary.AppendUvarint(b, uint64(len(rec.Values)))
	for _, k := range sortedKeys(rec.Values) {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(rec.Values[k])))
		b = append(b, rec.Values[k]...)
	}
	b = binary.AppendUvarint(b, uint64(len(rec.Meta)))
	for _, k := range sortedKeys(rec.Meta) {
		b = appendString(b, k)
		b = appendString(b, rec.Meta[k])
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
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

// parseRecord decodes a record encoded by appendRecord. The returned
// record's Values map is never nil; its Meta map is nil when empty. Times
// are in UTC. ok is false if b is not exactly one valid encoding.
func parseRecord(b []byte) (rec *sessionkit.Record, issuedAt time.Time, ok bool) {
	d := decoder{b: b}
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
		rec.Values[k] = []byte(d.string())
	}
	if n := d.count(); n > 0 {
		rec.Meta = make(map[string]string, n)
		for range n {
			k := d.string()
			rec.Meta[k] = d.string()
		}
	}
	if d.bad || len(d.b) != 0 {
		return nil, time.Time{}, false
	}
	return rec, issuedAt, true
}

// decoder reads the encoding of appendRecord. After the first error it
// returns zero values and sets bad.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) fail() {
	d.b, d.bad = nil, true
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a map size, failing if the rest of the input could not hold
// that many entries of at least two bytes each.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)/2) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
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
