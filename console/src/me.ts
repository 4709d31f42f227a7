/** The operator logged in, as GET /v1/session names them. */
export interface Me {
  id: string;
  name: string;
  roles: string[];
}
