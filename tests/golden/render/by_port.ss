Port                Total  UNKNOWN  ESTAB  SYN-SENT  SYN-RECV  FIN-WAIT-1  FIN-WAIT-2  TIME-WAIT  UNCONN  CLOSE-WAIT  LAST-ACK  LISTEN  CLOSING
6666                   14        1      1         1         2           1           1          1       2           1         1       1        1
1                       2        0      0         0         0           0           0          0       1           1         0       0        0
22                      1        0      1         0         0           0           0          0       0           0         0       0        0
53                      1        0      0         0         0           0           0          0       1           0         0       0        0
443                     1        0      1         0         0           0           0          0       0           0         0       0        0
5353                    1        0      1         0         0           0           0          0       0           0         0       0        0
*                       1        0      1         0         0           0           0          0       0           0         0       0        0
/run/app.sock           1        0      0         0         0           0           0          0       0           0         0       1        0
/tmp/a,"b"
c            1        0      1         0         0           0           0          0       0           0         0       0        0
/tmp/badÿþ-utf8-Ã©       1        0      0         0         0           0           0          0       1           0         0       0        0
@abstractname          1        0      0         0         0           0           0          0       1           0         0       0        0
