Process             Total  UNKNOWN  ESTAB  SYN-SENT  SYN-RECV  FIN-WAIT-1  FIN-WAIT-2  TIME-WAIT  UNCONN  CLOSE-WAIT  LAST-ACK  LISTEN  CLOSING
-                      22        1      5         1         2           1           1          1       5           2         1       1        1
1/systemd               1        0      1         0         0           0           0          0       0           0         0       0        0
100/nginx               1        0      0         0         0           0           0          0       0           0         0       1        0
101/nginx               1        0      0         0         0           0           0          0       0           0         0       1        0
4242/we"ird\,	name      1        0      0         0         0           0           0          0       0           0         0       1        0
555/logger              1        0      0         0         0           0           0          0       1           0         0       0        0
