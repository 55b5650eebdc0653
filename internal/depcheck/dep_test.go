package depcheck

import (
	"testing"

	_ "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	_ "github.com/google/uuid"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/testutil"
	_ "github.com/prometheus/prometheus/promql/parser"
)

func TestX(t *testing.T) {}
