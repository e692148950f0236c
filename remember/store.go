package remember

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Errors of a Store.
var (
	// ErrNotFound: no token has the selector.
	ErrNotFound = errors.New("remember: token not found")
	// ErrExists: Create found the selector taken.
	ErrExists = errors.New("remember: selector already exists")
	// ErrConflict: Rotate found that the token's current hash is no longer
	// the one it was given (a parallel request rotated it first).
	ErrConflict = errors.New("remember: token rotated by a parallel request")
)

// Token is a stored remember-me token. It holds hashes of validators,
// never a validator.
type Token struct {
	// Selector names the token and stays the same across rotations: it is
	// the token series (one per device and login).
	Selector string
	// UserID is the user the token logs in.
	UserID string
	// Hash is SHA-256 of the current validator.
	Hash [32]byte
	// PrevHash is SHA-256 of the validator the last rotation replaced, valid
	// until GraceUntil for requests that were sent in parallel with the
	// rotating one. It is zero before the first rotation.
	PrevHash [32]byte
	// GraceUntil ends the validity of PrevHash.
	GraceUntil time.Time
	// CreatedAt is when the user ticked "remember me".
	CreatedAt time.Time
	// ExpiresAt is the hard end of the series: rotations never move it.
	ExpiresAt time.Time
	// UserAgent is the device's User-Agent at creation, for a "your
	// devices" page.
	UserAgent string
}

// Store keeps remember-me tokens. Implementations must be safe for
// concurrent use; Rotate must be atomic (a compare-and-swap on Hash), so
// that of two parallel rotations exactly one wins. A call whose context
// has ended fails with an error that wraps the context's error and changes
// nothing. remembertest.Run checks an implementation.
//
// MemoryStore keeps tokens in memory; redisstore, pgstore, sqlitestore and
// mongostore have persistent implementations beside their session stores
// (NewRememberStore in each).
type Store interface {
	// Create stores a new token, or returns ErrExists.
	Create(ctx context.Context, t Token) error
	// Get returns the token with the selector, or ErrNotFound.
	Get(ctx context.Context, selector string) (Token, error)
	// Rotate replaces the token's Hash by newHash if it is still oldHash,
	// moving oldHash to PrevHash with GraceUntil graceUntil. It returns
	// ErrConflict when Hash is no longer oldHash, and ErrNotFound when the
	// token is gone.
	Rotate(ctx context.Context, selector string, oldHash, newHash [32]byte, graceUntil time.Time) error
	// Delete removes a token. Removing a missing token is not an error.
	Delete(ctx context.Context, selector string) error
	// DeleteUser removes every token of a user and returns how many.
	DeleteUser(ctx context.Context, userID string) (int, error)
	// DeleteExpired removes the tokens whose ExpiresAt is not after now and
	// returns how many.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// MemoryStore is a Store in memory, for tests and single-instance
// development servers: its tokens are lost at a restart. Its zero value is
// ready to use.
type MemoryStore struct {
	mu     sync.Mutex
	tokens map[string]Token
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Create implements Store.
func (s *MemoryStore) Create(ctx context.Context, t Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[t.Selector]; ok {
		return ErrExists
	}
	if s.tokens == nil {
		s.tokens = make(map[string]Token)
	}
	s.tokens[t.Selector] = t
	return nil
}

// Get implements Store.
func (s *MemoryStore) Get(ctx context.Context, selector string) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[selector]
	if !ok {
		return Token{}, ErrNotFound
	}
	return t, nil
}

// Rotate implements Store.
func (s *MemoryStore) Rotate(ctx context.Context, selector string, oldHash, newHash [32]byte, graceUntil time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[selector]
	if !ok {
		return ErrNotFound
	}
	if t.Hash != oldHash {
		return ErrConflict
	}
	t.PrevHash, t.Hash, t.GraceUntil = oldHash, newHash, graceUntil
	s.tokens[selector] = t
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(ctx context.Context, selector string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, selector)
	return nil
}

// DeleteUser implements Store.
func (s *MemoryStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	return s.deleteIf(ctx, func(t Token) bool { return t.UserID == userID })
}

// DeleteExpired implements Store.
func (s *MemoryStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return s.deleteIf(ctx, func(t Token) bool { return !t.ExpiresAt.After(now) })
}

func (s *MemoryStore) deleteIf(ctx context.Context, f func(Token) bool) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for sel, t := range s.tokens {
		if f(t) {
			delete(s.tokens, sel)
			n++
		}
	}
	return n, nil
}
