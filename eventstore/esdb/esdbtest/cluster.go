package esdbtest

import (
	"context"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
)

type gossipService struct {
	gossip.UnimplementedGossipServer
	s *Server
	n *node
}

// Read answers the cluster's members: the leader and the followers, all
// alive, at their gRPC endpoints.
func (g *gossipService) Read(ctx context.Context, _ *shared.Empty) (*gossip.ClusterInfo, error) {
	if err := g.s.runHook(ctx, Call{Node: g.n.idx, Method: "gossip"}); err != nil {
		return nil, err
	}
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	info := &gossip.ClusterInfo{}
	for _, n := range g.s.nodes {
		state := gossip.MemberInfo_Follower
		if n.idx == g.s.leader {
			state = gossip.MemberInfo_Leader
		}
		info.Members = append(info.Members, &gossip.MemberInfo{
			InstanceId:   &shared.UUID{Value: &shared.UUID_String_{String_: "00000000-0000-0000-0000-00000000000" + string(rune('0'+n.idx%10))}},
			State:        state,
			IsAlive:      true,
			HttpEndPoint: &gossip.EndPoint{Address: n.host, Port: uint32(n.port)},
		})
	}
	return info, nil
}

type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
	s *Server
	n *node
}

// GetSupportedMethods answers the server's version and the calls it
// serves.
func (f *featuresService) GetSupportedMethods(ctx context.Context, _ *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	if err := f.s.runHook(ctx, Call{Node: f.n.idx, Method: "features"}); err != nil {
		return nil, err
	}
	const svc = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: f.s.opts.Version,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: svc, MethodName: "read"},
			{ServiceName: svc, MethodName: "append"},
			{ServiceName: "event_store.client.gossip.gossip", MethodName: "read"},
		},
	}, nil
}
