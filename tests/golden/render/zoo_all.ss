Netid State      Recv-Q     Send-Q                            Local Address:Port                              Peer Address:Port Process
tcp   LISTEN     0          0                                     127.0.0.1:6666                                   0.0.0.0:*     users:(("we"ird\,	name",pid=4242,fd=9),("nginx",pid=101,fd=6),("nginx",pid=100,fd=6)) uid:33 ino:41000 sk:ac40
	 skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0) bbr cwnd:10
tcp   SYN-SENT   0          0                                     127.0.0.1:6666                                 127.0.0.1:40001 timer:(on,1.234ms,2) ino:41001 sk:ac41
	
tcp   SYN-RECV   0          0                                     127.0.0.1:6666                                 127.0.0.1:40002 ino:41002 sk:ac42
	
tcp   ESTAB      0          0                                     127.0.0.1:6666                                 127.0.0.1:40003 users:(("systemd",pid=1,fd=45)) timer:(keepalive,1min5sec,0) uid:1000 ino:41003 sk:ac43
	 skmem:(r1832,rb131072,t0,tb2626560,f2264,w0,o0,bl0,d0) ts sack cubic wscale:7,7 rto:204 rtt:0.05/0.025 ato:40 mss:32768 pmtu:65535 rcvmss:536 advmss:65483 cwnd:10 bytes_sent:1000 bytes_acked:1001 bytes_received:77 segs_out:3 segs_in:2 data_segs_out:1 data_segs_in:1 send 52428800000bps lastsnd:2948 lastrcv:2950 lastack:2948 pacing_rate 100962180000bps delivery_rate 35328000000bps delivered:2 busy:12ms retrans:1/3 rcv_space:65483 rcv_ssthresh:65483 minrtt:0.008
tcp   FIN-WAIT-1 0          0                                     127.0.0.1:6666                                 127.0.0.1:40004 ino:41004 sk:ac44
	
tcp   FIN-WAIT-2 0          0                                     127.0.0.1:6666                                 127.0.0.1:40005 ino:41005 sk:ac45
	
tcp   CLOSE-WAIT 0          0                                     127.0.0.1:6666                                 127.0.0.1:40006 timer:(persist,005ms,1) ino:41006 sk:ac46
	
tcp   CLOSING    0          0                                     127.0.0.1:6666                                 127.0.0.1:40007 ino:41007 sk:ac47
	
tcp   LAST-ACK   0          0                                     127.0.0.1:6666                                 127.0.0.1:40008 ino:41008 sk:ac48
	
tcp   TIME-WAIT  0          0                                     127.0.0.1:6666                                 127.0.0.1:40009 timer:(timewait,59sec,0) ino:41009 sk:ac49
	
tcp   SYN-RECV   0          0                                     127.0.0.1:6666                                 127.0.0.1:40010 ino:41010 sk:ac4a
	
tcp   UNCONN     0          0                                     127.0.0.1:6666                                 127.0.0.1:40011 ino:41011 sk:ac4b
	
tcp   UNCONN     0          0                                     127.0.0.1:6666                                 127.0.0.1:40012 ino:41012 sk:ac4c
	
tcp   UNKNOWN    0          0                                     127.0.0.1:6666                                 127.0.0.1:40013 ino:41013 sk:ac4d
	
tcp   ESTAB      4294967295 123456                                    [::1]:22                 [fe80::1234:5678:9abc:def0]:65535 ino:0 sk:0
	
tcp   CLOSE-WAIT 7          0      [2001:db8:1111:2222:3333:4444:5555:6666]:65535 [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:1     ino:0 sk:0
	
tcp   ESTAB      0          0                             [::ffff:10.1.2.3]:443                   [::ffff:192.168.200.201]:51515 ino:0 sk:0
	
udp   UNCONN     0          0                                       0.0.0.0:53                                     0.0.0.0:*     ino:0 sk:0
	
udp   ESTAB      768        0                                         [::1]:5353                                     [::1]:5354  ino:0 sk:0
	
raw   UNCONN     0          0                                       0.0.0.0:1                                      0.0.0.0:*     ino:0 sk:0
	
u_str LISTEN     0          4096                              /run/app.sock 7001                                         * 0
	
u_str ESTAB      0          0                                             * 7002                                         * 7003
	
u_dgr UNCONN     0          0                                @abstractname 7004                                         * 0
	
u_seq ESTAB      0          0                                  /tmp/a,"b"
c 7005                                         * 7006
	
u_dgr UNCONN     2304       0                            /tmp/badÿþ-utf8-Ã© 7007                                         * 0     users:(("logger",pid=555,fd=3))
	
