// Package depcheck holds dependencies in go.mod until the code that uses
// them lands; it is removed then.
package depcheck

import (
	"testing"

	_ "github.com/ThreeDotsLabs/watermill"
	_ "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	_ "github.com/ThreeDotsLabs/watermill/message"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go"
)

func TestDeps(t *testing.T) {}
