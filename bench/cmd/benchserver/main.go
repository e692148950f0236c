// Command benchserver serves the load benchmark's application, GET /read and
// GET /write, on one session stack chosen with -mode. The load benchmark
// (cmd/loadbench) starts one process per mode.
//
// Modes:
//
//	hello          plain net/http hello-world, no sessions (the ceiling)
//	floor          plain net/http doing the same Redis commands as a session
//	               store would, with no session logic: GET for /read, GET
//	               and SET with expiry for /write (the floor)
//	sk-mem         sessionkit + memstore
//	sk-redis       sessionkit + redisstore
//	sk-redis-ap    sessionkit + redisstore with Options.AutoPipeline
//	redisstore     redisstore alone, without the manager (see apps.StoreOnly)
//	sk-rueidis     sessionkit + rueidisstore
//	sk-rueidis-flush
//	               sessionkit + rueidisstore on a client with
//	               ClientOption.MaxFlushDelay 100 µs (see rueidisstore's
//	               README, "Throughput")
//	sk-rueidis-cached
//	               sessionkit + rueidisstore with client-side caching
//	               (Options.CacheTTL)
//	sk-cookie      sessionkit + cookiestore
//	scs-mem        scs + its memstore
//	scs-redis      scs + its goredisstore
//	gorilla-cookie gorilla/sessions CookieStore
//
// -cpuprofile and -memprofile write a CPU profile and a profile of every
// allocation, for the whole life of the server (it stops on SIGINT or
// SIGTERM), so that a stack can be profiled under wrk.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit/bench/internal/apps"
	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/redisstore"
	"github.com/sessionkit/sessionkit/rueidisstore"
)

// Modes lists the modes benchserver accepts.
var Modes = []string{"hello", "floor", "sk-mem", "sk-redis", "sk-redis-ap", "redisstore", "sk-rueidis", "sk-rueidis-flush", "sk-rueidis-cached", "sk-cookie", "scs-mem", "scs-redis", "gorilla-cookie"}

func main() {
	mode := flag.String("mode", "", "session stack to serve (see the package documentation)")
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address for the Redis-backed modes")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file until the server stops")
	memProfile := flag.String("memprofile", "", "write a profile of every allocation to this file when the server stops")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("benchserver " + *mode + ": ")

	h, err := handler(*mode, *redisAddr)
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 1
		defer func() {
			if err := writeHeapProfile(*memProfile); err != nil {
				log.Print(err)
			}
		}()
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		log.Print(err)
	}
}

// writeHeapProfile writes the allocation profile to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Fixed keys: the benchmark needs no secrecy, only the same work.
var (
	key1 = bytes.Repeat([]byte{1}, 32)
	key2 = bytes.Repeat([]byte{2}, 32)
)

func handler(mode, redisAddr string) (http.Handler, error) {
	newRedis := func() *redis.Client { return redis.NewClient(&redis.Options{Addr: redisAddr}) }
	switch mode {
	case "hello":
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("hello, " + apps.User))
		}), nil
	case "floor":
		return apps.Floor{RDB: newRedis()}, nil
	case "sk-mem":
		l, err := apps.NewSessionkit(memstore.New(memstore.Options{}), nil)
		return apps.Handler(l), err
	case "sk-redis", "sk-redis-ap":
		st, err := redisstore.New(newRedis(), redisstore.Options{AutoPipeline: mode == "sk-redis-ap"})
		if err != nil {
			return nil, err
		}
		l, err := apps.NewSessionkit(st, nil)
		return apps.Handler(l), err
	case "redisstore":
		st, err := redisstore.New(newRedis(), redisstore.Options{})
		return apps.StoreOnly{Store: st}, err
	case "sk-rueidis":
		return rueidisHandler(redisAddr, 0, 0)
	case "sk-rueidis-flush":
		return rueidisHandler(redisAddr, 0, flushDelay)
	case "sk-rueidis-cached":
		return rueidisHandler(redisAddr, cacheTTL, 0)
	case "sk-cookie":
		cs, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{key1}, CookieName: apps.CookieName})
		if err != nil {
			return nil, err
		}
		l, err := apps.NewSessionkit(nil, cs)
		return apps.Handler(l), err
	case "scs-mem":
		return apps.Handler(apps.NewSCS(scsmem.New())), nil
	case "scs-redis":
		return apps.Handler(apps.NewSCS(goredisstore.New(newRedis()))), nil
	case "gorilla-cookie":
		return apps.Handler(apps.NewGorilla(key1, key2)), nil
	}
	return nil, fmt.Errorf("unknown mode %q (want one of %v)", mode, Modes)
}

// cacheTTL is the CacheTTL of mode sk-rueidis-cached.
const cacheTTL = 5 * time.Second

// flushDelay is the ClientOption.MaxFlushDelay of mode sk-rueidis-flush.
const flushDelay = 100 * time.Microsecond

// rueidisHandler returns the application on sessionkit + rueidisstore with
// the given CacheTTL, on a rueidis client with its default options but for
// MaxFlushDelay.
func rueidisHandler(redisAddr string, ttl, maxFlushDelay time.Duration) (http.Handler, error) {
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{redisAddr}, MaxFlushDelay: maxFlushDelay})
	if err != nil {
		return nil, err
	}
	st, err := rueidisstore.New(client, rueidisstore.Options{CacheTTL: ttl})
	if err != nil {
		return nil, err
	}
	l, err := apps.NewSessionkit(st, nil)
	return apps.Handler(l), err
}
