package sessionkit

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"unicode/utf8"
)

// Codec encodes session values for storage. Each value is encoded on its own,
// so a store can write one key without rewriting the others.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec encodes values as JSON. It is the default: stored sessions stay
// readable from other languages, and typed access decodes into any type that
// encoding/json can fill.
type JSONCodec struct{}

// Marshal implements Codec.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal implements Codec. A string without escapes into a *string, the
// most common read, skips encoding/json's reflection; the result is the
// same.
func (JSONCodec) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*string); ok && p != nil {
		if s, ok := plainJSONString(data); ok {
			*p = s
			return nil
		}
	}
	return json.Unmarshal(data, v)
}

// decodeString returns the string that data encodes when c decodes it
// without reflection: for JSONCodec, a plain JSON string. For anything else
// ok is false and the caller goes through c.Unmarshal.
func decodeString(c Codec, data []byte) (s string, ok bool) {
	if _, isJSON := c.(JSONCodec); !isJSON {
		return "", false
	}
	return plainJSONString(data)
}

// plainJSONString returns the string that data encodes if data is exactly a
// JSON string with no escape sequence and valid UTF-8, as encoding/json
// writes most strings. For anything else ok is false.
func plainJSONString(data []byte) (s string, ok bool) {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return "", false
	}
	body := data[1 : len(data)-1]
	for _, c := range body {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(body) {
		return "", false
	}
	return string(body), true
}

// GobCodec encodes values with encoding/gob. It keeps Go types exactly (for
// example time.Time with its monotonic-free location, or integer widths) but
// is readable only from Go.
type GobCodec struct{}

// Marshal implements Codec.
func (GobCodec) Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Unmarshal implements Codec.
func (GobCodec) Unmarshal(data []byte, v any) error {
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}
