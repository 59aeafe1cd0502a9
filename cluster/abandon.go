package cluster

// Abandon stops the node without leaving the cluster, as a crash would:
// its lease is not removed, so the other nodes see it die when the lease
// runs out (its rooms leave their listings then, and a sweeper removes
// them). For tests and drills; a node that stops on purpose calls Close.
func (n *Node) Abandon() error { return n.close(false) }
