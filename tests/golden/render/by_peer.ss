Peer                                    Total  UNKNOWN  ESTAB  SYN-SENT  SYN-RECV  FIN-WAIT-1  FIN-WAIT-2  TIME-WAIT  UNCONN  CLOSE-WAIT  LAST-ACK  LISTEN  CLOSING
127.0.0.1                                  13        1      1         1         2           1           1          1       2           1         1       0        1
*                                           5        0      2         0         0           0           0          0       2           0         0       1        0
0.0.0.0                                     3        0      0         0         0           0           0          0       2           0         0       1        0
2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff      1        0      0         0         0           0           0          0       0           1         0       0        0
::1                                         1        0      1         0         0           0           0          0       0           0         0       0        0
::ffff:192.168.200.201                      1        0      1         0         0           0           0          0       0           0         0       0        0
fe80::1234:5678:9abc:def0                   1        0      1         0         0           0           0          0       0           0         0       0        0
