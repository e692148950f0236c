package redislayout_test

import (
	"fmt"

	"github.com/sessionkit/sessionkit/redislayout"
)

// The keys of a session and of its user's index: the hash tag is the
// session or user ID, so a Cluster places each on its own.
func ExampleLayout() {
	l, err := redislayout.New("myapp:")
	if err != nil {
		panic(err)
	}
	fmt.Println(l.SessionKey("Ab3"))
	fmt.Println(l.UserKey("42"))
	fmt.Println(l.IDFromKey("myapp:s:{Ab3}"))
	fmt.Println(l.ScanMatch())
	// Output:
	// myapp:s:{Ab3}
	// myapp:u:{42}
	// Ab3
	// myapp:s:{*}
}
