package mongostore

// These tests need no server. The tests against a real server (FerretDB)
// live in the separate module ./mongotest, so that FerretDB stays out of
// this module's go.mod.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

func TestValueField(t *testing.T) {
	keys := []string{"", "a", "a.b", "$where", "$", ".", "a..b", "k", "ключ", "\x00\xff", strings.Repeat("x", 200), "with space", "_id"}
	seen := make(map[string]string)
	for _, k := range keys {
		f := valueField(k)
		if strings.ContainsAny(f, ".$\x00") || f == "" {
			t.Errorf("valueField(%q) = %q, not a valid field name", k, f)
		}
		if other, ok := seen[f]; ok {
			t.Errorf("valueField(%q) = valueField(%q) = %q", k, other, f)
		}
		seen[f] = k
		got, err := valueKey(f)
		if err != nil || got != k {
			t.Errorf("valueKey(%q) = %q, %v; want %q", f, got, err, k)
		}
	}
	for _, f := range []string{"", "x", "a.b", "k!!"} {
		if _, err := valueKey(f); err == nil {
			t.Errorf("valueKey(%q) succeeded", f)
		}
	}
}

// netErr is a network failure the way the driver reports it.
var netErr = mongo.CommandError{
	Message: "connection refused",
	Labels:  []string{"NetworkError"},
	Wrapped: &net.OpError{Op: "dial", Err: errors.New("connection refused")},
}

// poolCleared stands for the driver's unexported poolClearedError, which
// operations get when another operation found the server unreachable.
type poolCleared struct{}

func (poolCleared) Error() string   { return "connection pool for 127.0.0.1:27017 was cleared" }
func (poolCleared) Retryable() bool { return true }

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"network error", netErr, true},
		{"server selection timeout", topology.ServerSelectionError{Wrapped: context.DeadlineExceeded}, true},
		{"server selection", topology.ServerSelectionError{Wrapped: errors.New("no suitable server")}, true},
		{"pool cleared", poolCleared{}, true},
		{"deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), true},
		{"cancelled", topology.ServerSelectionError{Wrapped: context.Canceled}, false},
		{"command error", mongo.CommandError{Code: 2, Message: "BadValue"}, false},
		{"duplicate key", mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000}}}, false},
		{"other", errors.New("boom"), false},
	}
	for _, tt := range tests {
		if got := unavailable(tt.err); got != tt.want {
			t.Errorf("%s: unavailable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
		err := wrap(context.Background(), "op", tt.err)
		if got := errors.Is(err, sessionkit.ErrUnavailable); got != tt.want {
			t.Errorf("%s: errors.Is(wrap(err), ErrUnavailable) = %v, want %v", tt.name, got, tt.want)
		}
		if !strings.HasPrefix(err.Error(), "mongostore: op: ") || !strings.HasSuffix(err.Error(), tt.err.Error()) {
			t.Errorf("%s: wrap(err) = %q, want it to end in %q", tt.name, err, tt.err)
		}
	}
	// Whatever the driver reports, a call whose context ended was canceled
	// by its caller, not failed by the server.
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range tests {
		err := wrap(canceled, "op", tt.err)
		if errors.Is(err, sessionkit.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: wrap(err) = %v; want context.Canceled, not ErrUnavailable", tt.name, err)
		}
	}
}

// fakeIndexes answers index creation the way a server would: ttlErr for a
// TTL index, expErr for an ordinary exp_1, err for any other, collModErr
// for a change of expireAfterSeconds.
type fakeIndexes struct {
	ttlErr, expErr, err, collModErr error
	created                         []string
}

func (f *fakeIndexes) SetExpireAfter(ctx context.Context, index string, seconds int32) error {
	if f.collModErr != nil {
		return f.collModErr
	}
	f.created = append(f.created, fmt.Sprintf("collMod %s ttl %d", index, seconds))
	return nil
}

func (f *fakeIndexes) CreateOne(ctx context.Context, m mongo.IndexModel, _ ...options.Lister[options.CreateIndexesOptions]) (string, error) {
	var o options.IndexOptions
	for _, set := range m.Options.List() {
		if err := set(&o); err != nil {
			return "", err
		}
	}
	if o.ExpireAfterSeconds != nil {
		if f.ttlErr != nil {
			return "", f.ttlErr
		}
		f.created = append(f.created, fmt.Sprintf("%s ttl %d", *o.Name, *o.ExpireAfterSeconds))
		return *o.Name, nil
	}
	if f.expErr != nil && *o.Name == "exp_1" {
		return "", f.expErr
	}
	if f.err != nil {
		return "", f.err
	}
	f.created = append(f.created, *o.Name)
	return *o.Name, nil
}

// TestCreateIndexes checks the choice between a TTL index and the Store's
// own clean-up for the answers servers give, and the TTL index's
// expireAfterSeconds (the retention, 300 s here). The TTL path itself can
// only be exercised against a server that supports TTL indexes (MongoDB);
// the tests in ./mongotest run against FerretDB, which takes the clean-up
// path.
func TestCreateIndexes(t *testing.T) {
	conflict := mongo.CommandError{Code: 85, Name: "IndexOptionsConflict"}
	tests := []struct {
		name       string
		ttlErr     error
		expErr     error
		err        error
		collModErr error
		wantTTL    bool
		wantErr    error
		wantIn     string // in the error's text
		created    string
	}{
		{name: "TTL supported", wantTTL: true, created: "uid_1 exp_1 ttl 300"},
		{name: "NotImplemented (FerretDB v1)", ttlErr: mongo.CommandError{Code: 238, Name: "NotImplemented"}, created: "uid_1 exp_1"},
		{name: "CommandNotSupported", ttlErr: mongo.CommandError{Code: 115, Name: "CommandNotSupported"}, created: "uid_1 exp_1"},
		{name: "CannotCreateIndex", ttlErr: mongo.CommandError{Code: 67, Name: "CannotCreateIndex"}, created: "uid_1 exp_1"},
		{name: "IndexOptionsConflict: collMod", ttlErr: conflict, wantTTL: true, created: "uid_1 collMod exp_1 ttl 300"},
		{name: "IndexOptionsConflict: collMod refused", ttlErr: conflict, collModErr: mongo.CommandError{Code: 72, Name: "InvalidOptions"}, created: "uid_1 exp_1"},
		{name: "IndexOptionsConflict: collMod unauthorized, TTL index exists", ttlErr: conflict, expErr: conflict, collModErr: mongo.CommandError{Code: 13, Name: "Unauthorized"}, wantErr: mongo.CommandError{}, wantIn: "grant the collMod action", created: "uid_1"},
		{name: "IndexOptionsConflict: collMod unreachable", ttlErr: conflict, collModErr: netErr, wantErr: sessionkit.ErrUnavailable, created: "uid_1"},
		{name: "TTL unreachable", ttlErr: netErr, wantErr: sessionkit.ErrUnavailable, created: "uid_1"},
		{name: "unreachable", err: netErr, wantErr: sessionkit.ErrUnavailable},
		{name: "unauthorized", err: mongo.CommandError{Code: 13, Name: "Unauthorized"}, wantErr: mongo.CommandError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeIndexes{ttlErr: tt.ttlErr, expErr: tt.expErr, err: tt.err, collModErr: tt.collModErr}
			ttl, err := createIndexes(context.Background(), f, sessionkit.DefaultKeepExpired)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("createIndexes: %v", err)
			case tt.wantErr != nil && err == nil:
				t.Fatalf("createIndexes succeeded, want an error")
			case tt.wantErr == sessionkit.ErrUnavailable && !errors.Is(err, sessionkit.ErrUnavailable):
				t.Fatalf("createIndexes: %v, want ErrUnavailable", err)
			case tt.wantErr != nil && tt.wantErr != sessionkit.ErrUnavailable && errors.Is(err, sessionkit.ErrUnavailable):
				t.Fatalf("createIndexes: %v, want no ErrUnavailable", err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("createIndexes: %v, want it to say %q", err, tt.wantIn)
			}
			if ttl != tt.wantTTL {
				t.Errorf("ttl = %v, want %v", ttl, tt.wantTTL)
			}
			if got := strings.Join(f.created, " "); got != tt.created {
				t.Errorf("created %q, want %q", got, tt.created)
			}
		})
	}
}

func TestExpireAfterSeconds(t *testing.T) {
	for _, tt := range []struct {
		keep time.Duration
		want int32
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Millisecond, 1},
		{time.Second, 1},
		{time.Second + 1, 2},
		{5 * time.Minute, 300},
		{math.MaxInt64, math.MaxInt32},
	} {
		if got := expireAfterSeconds(tt.keep); got != tt.want {
			t.Errorf("expireAfterSeconds(%v) = %d, want %d", tt.keep, got, tt.want)
		}
	}
}

func TestNewNilDatabase(t *testing.T) {
	if _, err := New(context.Background(), nil, Options{}); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}
