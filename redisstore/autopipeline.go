package redisstore

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// DefaultAutoPipelineFrom is the default of Options.AutoPipelineFrom: with
// fewer calls in flight, a shared batch saves less than the hand-off to the
// autopipeliner's goroutines costs (measured with the load benchmark of
// package bench at 4 and 64 connections).
const DefaultAutoPipelineFrom = 8

// pipeliner runs the store's per-session commands through go-redis's
// deferred autopipeliner (Options.AutoPipeline), which batches the
// commands of concurrent requests into shared pipelines, once from calls
// are in flight. It waits for each command under the caller's
// context: the autopipeliner runs a queued command on its own context, so
// without this a request would wait out the client's read timeout instead
// of its own deadline. A command whose caller gave up may still run, as
// one already written to a connection may with a plain client.
type pipeliner struct {
	client   redis.UniversalClient
	ap       *redis.AutoPipeliner
	from     int32         // Options.AutoPipelineFrom
	inflight *atomic.Int32 // calls in process
}

// newPipeliner returns the pipeliner on client's deferred autopipeliner,
// used from the given number of calls in flight.
func newPipeliner(client redis.UniversalClient, from int) (pipeliner, error) {
	var (
		ap  *redis.AutoPipeliner
		err error
	)
	switch c := client.(type) {
	case *redis.Client:
		ap, err = c.AsyncAutoPipeline()
	case *redis.ClusterClient:
		ap, err = c.AsyncAutoPipeline()
	default:
		return pipeliner{}, fmt.Errorf("redisstore: AutoPipeline needs a *redis.Client or *redis.ClusterClient, not %T", client)
	}
	if err != nil {
		return pipeliner{}, fmt.Errorf("redisstore: AutoPipeline: %w", err)
	}
	return pipeliner{client: client, ap: ap, from: int32(from), inflight: new(atomic.Int32)}, nil
}

// process runs cmd and returns its error, or ctx's once ctx ends first.
// In that case cmd may still be running and must not be read.
func (p pipeliner) process(ctx context.Context, cmd redis.Cmder) error {
	defer p.inflight.Add(-1)
	if p.inflight.Add(1) < p.from {
		return p.client.Process(ctx, cmd)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.ap.Submit(ctx, cmd).WaitContext(ctx)
}

// The redis.Scripter methods, so that redis.Script.Run (EVALSHA, then
// EVAL when the server does not have the script) goes through process.

// Eval implements redis.Scripter.
func (p pipeliner) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.eval(ctx, "eval", script, keys, args)
}

// EvalSha implements redis.Scripter.
func (p pipeliner) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.eval(ctx, "evalsha", sha1, keys, args)
}

// EvalRO implements redis.Scripter.
func (p pipeliner) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.eval(ctx, "eval_ro", script, keys, args)
}

// EvalShaRO implements redis.Scripter.
func (p pipeliner) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.eval(ctx, "evalsha_ro", sha1, keys, args)
}

// ScriptExists implements redis.Scripter.
func (p pipeliner) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return p.ap.ScriptExists(ctx, hashes...)
}

// ScriptLoad implements redis.Scripter.
func (p pipeliner) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return p.ap.ScriptLoad(ctx, script)
}

// eval runs an EVAL-family command as go-redis builds it.
func (p pipeliner) eval(ctx context.Context, name, payload string, keys []string, args []any) *redis.Cmd {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, name, payload, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	cmd := redis.NewCmd(ctx, append(a, args...)...)
	if len(keys) > 0 {
		cmd.SetFirstKeyPos(3) // the slot of a Cluster follows the first key
	}
	if err := p.process(ctx, cmd); err != nil && ctx.Err() != nil {
		cmd = redis.NewCmd(ctx) // cmd may still be running
		cmd.SetErr(err)
	}
	return cmd
}
