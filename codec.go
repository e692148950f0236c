package sessionkit

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
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

// Unmarshal implements Codec.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

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
