package redislayout

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit"
)

// Header is the header field of a session hash, taken apart.
type Header struct {
	Absolute, Created time.Time
	Persistent        bool
	UserID            string
}

// EncodeHeader returns the header field of rec.
func EncodeHeader(rec *sessionkit.Record) string {
	return string(appendHeader(make([]byte, 0, 2*20+4+len(rec.UserID)), rec))
}

// appendHeader appends the header field of rec to b.
func appendHeader(b []byte, rec *sessionkit.Record) []byte {
	b = appendTime(b, rec.AbsoluteExpiry)
	b = append(b, ' ')
	b = appendTime(b, rec.CreatedAt)
	b = append(b, ' ')
	b = append(b, encodeBool(rec.Persistent)...)
	b = append(b, ' ')
	return append(b, rec.UserID...)
}

// ParseHeader takes apart the header field s, as the update and touch
// scripts return it. The user ID shares the memory of s. The error wraps
// ErrMalformed and does not quote s.
func ParseHeader(s string) (Header, error) {
	var h Header
	abs, s, ok1 := strings.Cut(s, " ")
	created, s, ok2 := strings.Cut(s, " ")
	persist, uid, ok3 := strings.Cut(s, " ")
	if !ok1 || !ok2 || !ok3 || (persist != "0" && persist != "1") {
		return h, fmt.Errorf("%w header", ErrMalformed)
	}
	var err1, err2 error
	h.Absolute, err1 = decodeTime(abs)
	h.Created, err2 = decodeTime(created)
	h.Persistent = persist == "1"
	h.UserID = uid
	if err1 != nil || err2 != nil {
		return Header{}, fmt.Errorf("%w header", ErrMalformed)
	}
	return h, nil
}

// EncodeMeta returns the metadata field for m: each key and value as a
// netstring, keys in order.
func EncodeMeta(m map[string]string) string {
	return string(appendMeta(nil, m))
}

// appendMeta appends the metadata field for m to b.
func appendMeta(b []byte, m map[string]string) []byte {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b = appendNetstring(b, k)
		b = appendNetstring(b, m[k])
	}
	return b
}

// decodeMeta parses a metadata field. It returns nil for none. The keys
// and values share the memory of s.
func decodeMeta(s string) (map[string]string, bool) {
	var m map[string]string
	for s != "" {
		k, rest, ok := cutNetstring(s)
		if !ok {
			return nil, false
		}
		v, rest, ok := cutNetstring(rest)
		if !ok {
			return nil, false
		}
		if m == nil {
			m = make(map[string]string)
		}
		m[k] = v
		s = rest
	}
	return m, true
}

// EncodeTimes returns the times field: "<exp> <last>".
func EncodeTimes(expiresAt, lastSeen time.Time) string {
	return string(appendTimes(make([]byte, 0, 2*20+1), expiresAt, lastSeen))
}

// appendTimes appends the times field to b.
func appendTimes(b []byte, expiresAt, lastSeen time.Time) []byte {
	b = appendTime(b, expiresAt)
	b = append(b, ' ')
	return appendTime(b, lastSeen)
}

// parseTimes takes apart a times field.
func parseTimes(s string) (expiresAt, lastSeen time.Time, ok bool) {
	exp, last, ok := strings.Cut(s, " ")
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	var err1, err2 error
	expiresAt, err1 = decodeTime(exp)
	lastSeen, err2 = decodeTime(last)
	return expiresAt, lastSeen, err1 == nil && err2 == nil
}

// appendNetstring appends s as its length, a colon and its bytes.
func appendNetstring(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// cutNetstring takes a netstring off the front of s.
func cutNetstring(s string) (v, rest string, ok bool) {
	n, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", false
	}
	l, err := strconv.Atoi(n)
	if err != nil || l < 0 || l > len(rest) {
		return "", "", false
	}
	return rest[:l], rest[l:], true
}

// DecodeRecord builds a record from the fields of a session hash (as
// HGETALL returns them). It returns nil for a hash without a header, which
// is not a session, whether or not it has expired: the caller compares
// ExpiresAt with its clock. Its errors wrap ErrMalformed, name the session
// and quote none of its fields.
func DecodeRecord(id string, fields map[string]string) (*sessionkit.Record, error) {
	// One pass over the hash sorts out its fields; the values, which
	// share one copy, are noted and copied after it, once their size is
	// known. Eight of them fit on the stack.
	type value struct{ key, v string }
	var (
		hs, ts, ms string
		isSession  bool
		size       int
		small      [8]value
	)
	values := small[:0]
	for k, v := range fields {
		switch {
		case strings.HasPrefix(k, ValuePrefix):
			values = append(values, value{k[len(ValuePrefix):], v})
			size += len(v)
		case k == FieldHeader:
			hs, isSession = v, true
		case k == FieldTimes:
			ts = v
		case k == FieldMeta:
			ms = v
		}
	}
	if !isSession {
		return nil, nil
	}
	h, err := ParseHeader(hs)
	if err != nil {
		return nil, fmt.Errorf("session %s: %w", id, err)
	}
	meta, ok := decodeMeta(ms)
	if !ok {
		return nil, fmt.Errorf("session %s: %w metadata", id, ErrMalformed)
	}
	exp, last, ok := parseTimes(ts)
	if !ok {
		return nil, fmt.Errorf("session %s: %w times", id, ErrMalformed)
	}
	rec := &sessionkit.Record{
		ID:             id,
		UserID:         h.UserID,
		CreatedAt:      h.Created,
		LastSeen:       last,
		ExpiresAt:      exp,
		AbsoluteExpiry: h.Absolute,
		Persistent:     h.Persistent,
		Meta:           meta,
		Values:         make(map[string][]byte, len(values)),
	}
	// Each value is capped at its own end, so that appending to one never
	// overwrites the next.
	buf := make([]byte, 0, size)
	for _, kv := range values {
		i := len(buf)
		buf = append(buf, kv.v...)
		rec.Values[kv.key] = buf[i:len(buf):len(buf)]
	}
	return rec, nil
}

// Live returns rec if it has not expired at now, nil otherwise.
func Live(rec *sessionkit.Record, now time.Time) *sessionkit.Record {
	if rec == nil || !rec.ExpiresAt.After(now) {
		return nil
	}
	return rec
}

// appendTime appends t as Unix nanoseconds, or "0" for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, '0')
	}
	return strconv.AppendInt(b, t.UnixNano(), 10)
}

// decodeTime parses a time as appendTime writes it: Unix nanoseconds in
// decimal, "0" for the zero time.
func decodeTime(s string) (time.Time, error) {
	n, ok := parseInt(s)
	if !ok {
		return time.Time{}, errBadNumber
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, n), nil
}

// errBadNumber reports a time field that is not a decimal int64.
var errBadNumber = errors.New("not a decimal int64")

// parseInt parses s as strconv.ParseInt(s, 10, 64) does, and reports
// whether it is valid. It takes about 40% less time than strconv for a
// time in nanoseconds, which counts on every load: each parses four.
func parseInt(s string) (int64, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	const limit = 1 << 63 // the magnitude of math.MinInt64
	var n uint64
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 || n > limit/10 {
			return 0, false
		}
		n = n*10 + uint64(d)
		if n > limit {
			return 0, false
		}
	}
	if neg {
		return -int64(n), true
	}
	if n == limit {
		return 0, false
	}
	return int64(n), true
}

// IndexScore returns the score of a session in its user's index: the time
// after which it surely has expired. That is its absolute expiry, which
// touches and updates do not move, so that they need not write the index;
// or its expiry when it has no absolute expiry (or, against the rules, an
// expiry past it).
func IndexScore(expiresAt, absolute time.Time) time.Time {
	if absolute.IsZero() || expiresAt.After(absolute) {
		return expiresAt
	}
	return absolute
}

// IndexChange is what a write to a session must change in the user
// indexes after its script ran.
type IndexChange struct {
	// Unindex is the user whose index must drop the session, or "".
	Unindex string
	// Index is the user whose index must record the session as dead after
	// Score, or "". The session, created at Created, is written: the
	// change counts it against the user's limit (CountArgs).
	Index   string
	Score   time.Time
	Created time.Time
}

// AfterUpdate returns the index changes that follow UpdateScript, which
// applied d to a session whose header was h.
func (h Header) AfterUpdate(d sessionkit.Delta) IndexChange {
	var c IndexChange
	abs := d.AbsoluteExpiry
	if abs.IsZero() {
		abs = h.Absolute
	}
	newUID := h.UserID
	if d.UserID != nil {
		newUID = *d.UserID
	}
	if h.UserID != "" && h.UserID != newUID {
		c.Unindex = h.UserID
	}
	// The index entry is scored by the absolute expiry, which a plain
	// update leaves alone, so usually it need not be written.
	if newUID != "" && (newUID != h.UserID || !d.AbsoluteExpiry.IsZero() || abs.IsZero() || d.ExpiresAt.After(abs)) {
		c.Index, c.Score, c.Created = newUID, IndexScore(d.ExpiresAt, abs), h.Created
	}
	return c
}

// AfterTouch returns the index change that follows TouchScript, which set
// the expiry of a session whose header is h to expiresAt.
func (h Header) AfterTouch(expiresAt time.Time) IndexChange {
	// The index entry is scored by the absolute expiry, which a touch
	// cannot pass, so it is written only for sessions without one.
	if h.UserID != "" && (h.Absolute.IsZero() || expiresAt.After(h.Absolute)) {
		return IndexChange{Index: h.UserID, Score: IndexScore(expiresAt, h.Absolute), Created: h.Created}
	}
	return IndexChange{}
}

// userSessions sorts out the sessions listed in the index of userID: ids
// and, at the same positions, their records (nil for a missing one), which
// count only if they are live at now. It returns the infos of the user's sessions, oldest first,
// and the IDs whose entries are stale: no session, or one that moved to
// another user.
func userSessions(userID string, ids []string, recs []*sessionkit.Record, now time.Time) (list []sessionkit.SessionInfo, stale []string) {
	for i, rec := range recs {
		if rec = Live(rec, now); rec == nil || rec.UserID != userID {
			stale = append(stale, ids[i])
			continue
		}
		list = append(list, rec.Info())
	}
	slices.SortFunc(list, func(a, b sessionkit.SessionInfo) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return list, stale
}
