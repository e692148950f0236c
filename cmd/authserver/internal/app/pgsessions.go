package app

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/pgstore"
)

// openPostgresSessions opens the PostgreSQL session store; the returned
// function closes the store and its pool.
func openPostgresSessions(ctx context.Context, rawURL string) (sessionkit.Store, func() error, error) {
	pool, err := pgxpool.New(ctx, rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("postgres: %w", err)
	}
	s, err := pgstore.New(ctx, pool, pgstore.Options{})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return s, func() error {
		err := s.Close()
		pool.Close()
		return err
	}, nil
}
