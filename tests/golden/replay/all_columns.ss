Netid State      Recv-Q Send-Q   Local Address:Port   Peer Address:Port  Process
u_dgr ESTAB      0      0                    * 153701            * 153702
	 skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)
u_seq ESTAB      0      0                    * 153703            * 153704
	 skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)
u_str ESTAB      0      0                    * 153699            * 153700
	 skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)
u_str ESTAB      0      0      @socklab-golden 153700            * 153699
	 skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)
u_seq ESTAB      0      0                    * 153704            * 153703
	 skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)
u_dgr ESTAB      0      0                    * 153702            * 153701
	 skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)
u_str LISTEN     0      4      @socklab-golden 153698            * 0
	 skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)
udp   UNCONN     0      0            127.0.0.1:54121       0.0.0.0:*      ino:153694 sk:d3c5
	 skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)
udp   UNCONN     0      0                [::1]:47645          [::]:*      ino:153695 sk:d3c6
	 skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)
udp   ESTAB      0      0                [::1]:51631         [::1]:47645  ino:153696 sk:d3c7
	 skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)
tcp   LISTEN     0      8            127.0.0.1:58935       0.0.0.0:*      ino:153679 sk:d3b8
	 skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0) bbr cwnd:10
tcp   LISTEN     0      4            127.0.0.1:39847       0.0.0.0:*      ino:153692 sk:d3c2
	 skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d1) bbr cwnd:10
tcp   SYN-RECV   0      0            127.0.0.1:39847     127.0.0.1:56632  timer:(on,984ms,0) ino:0 sk:d3c3
	
tcp   ESTAB      0      0            127.0.0.1:43698     127.0.0.1:58935  ino:153681 sk:d3b9
	 skmem:(r0,rb131072,t0,tb3939840,f0,w0,o0,bl0,d0) ts sack bbr wscale:10,10 rto:204 rtt:0.026/0.013 mss:32741 pmtu:65535 rcvmss:536 advmss:65483 cwnd:10 bytes_acked:1 segs_out:2 segs_in:1 send 100741538462bps lastsnd:16 lastrcv:16 lastack:16 pacing_rate 287904345936bps delivered:1 rcv_space:65495 rcv_ssthresh:65495 minrtt:0.026
tcp   FIN-WAIT-2 0      0            127.0.0.1:43712     127.0.0.1:58935  ino:153685 sk:d3ba
	 skmem:(r0,rb131072,t0,tb3939840,f0,w0,o0,bl0,d0) ts sack bbr wscale:10,10 rto:204 rtt:0.427/0.844 mss:32768 pmtu:65535 rcvmss:536 advmss:65483 cwnd:11 bytes_acked:2 segs_out:3 segs_in:2 send 6753124122bps lastsnd:16 lastrcv:16 lastack:12 pacing_rate 1069359043824bps delivery_rate 77718344bps delivered:2 busy:4ms rcv_space:65495 rcv_ssthresh:65495 minrtt:0.007
tcp   ESTAB      0      0            127.0.0.1:56632     127.0.0.1:39847  ino:153693 sk:d3c4
	 skmem:(r0,rb131072,t0,tb3939840,f0,w0,o0,bl0,d0) ts sack bbr wscale:10,10 rto:204 rtt:0.012/0.006 mss:32741 pmtu:65535 rcvmss:536 advmss:65483 cwnd:10 bytes_acked:1 segs_out:2 segs_in:1 send 218273333333bps lastsnd:16 lastrcv:16 lastack:16 pacing_rate 623792771840bps delivered:1 rcv_space:65495 rcv_ssthresh:65495 minrtt:0.012
tcp   CLOSE-WAIT 1      0            127.0.0.1:58935     127.0.0.1:43712  ino:153686 sk:d3bb
	 skmem:(r832,rb131072,t0,tb3939840,f3264,w0,o0,bl0,d0) ts sack bbr wscale:10,10 rto:204 rtt:0.007/0.003 ato:40 mss:32768 pmtu:65535 rcvmss:536 advmss:65483 cwnd:10 bytes_received:1 segs_out:1 segs_in:3 send 374491428571bps lastsnd:16 lastrcv:16 lastack:16 pacing_rate 1070240895144bps delivered:1 rcv_space:65483 rcv_ssthresh:65483 minrtt:0.007
tcp   ESTAB      0      0            127.0.0.1:58935     127.0.0.1:43698  ino:153682 sk:d3bc
	 skmem:(r0,rb131072,t0,tb3939840,f0,w0,o0,bl0,d0) ts sack bbr wscale:10,10 rto:204 rtt:0.026/0.013 mss:32768 pmtu:65535 rcvmss:536 advmss:65483 cwnd:10 segs_in:2 send 100824615385bps lastsnd:16 lastrcv:16 lastack:16 pacing_rate 288141767440bps delivered:1 rcv_space:65483 rcv_ssthresh:65483 minrtt:0.026
tcp   LISTEN     0      8                [::1]:38965          [::]:*      ino:153680 sk:d3bd
	 skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0) bbr cwnd:10
tcp   ESTAB      0      0                [::1]:58666         [::1]:38965  ino:153683 sk:d3bf
	 skmem:(r0,rb131072,t0,tb3939840,f0,w0,o0,bl0,d0) ts sack bbr wscale:10,10 rto:204 rtt:0.017/0.008 mss:32732 pmtu:65536 rcvmss:536 advmss:65464 cwnd:10 bytes_acked:1 segs_out:2 segs_in:1 send 154032941176bps lastsnd:16 lastrcv:16 lastack:16 pacing_rate 440203255376bps delivered:1 rcv_space:65476 rcv_ssthresh:65476 minrtt:0.017
tcp   TIME-WAIT  0      0                [::1]:58674         [::1]:38965  timer:(timewait,59sec,0) ino:0 sk:d3c0
	
tcp   ESTAB      0      0                [::1]:38965         [::1]:58666  ino:153684 sk:d3c1
	 skmem:(r0,rb131072,t0,tb3939840,f0,w0,o0,bl0,d0) ts sack bbr wscale:10,10 rto:204 rtt:0.011/0.005 mss:32768 pmtu:65536 rcvmss:536 advmss:65464 cwnd:10 segs_in:2 send 238312727273bps lastsnd:16 lastrcv:16 lastack:16 pacing_rate 681062375640bps delivered:1 rcv_space:65464 rcv_ssthresh:65464 minrtt:0.011
