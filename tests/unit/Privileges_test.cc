#include "Privileges.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "UniqueFd.h"

namespace hs {
namespace {

TEST(ResolvePrivilegesTest, RootWithoutUserDropsToNobody) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  struct passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody' here";
  uid_t uid = nobody->pw_uid;
  gid_t gid = nobody->pw_gid;
  Privileges p;
  std::string err;
  ASSERT_TRUE(resolvePrivileges("", &p, &err)) << err;
  EXPECT_TRUE(p.drop);
  EXPECT_EQ(p.uid, uid);
  EXPECT_EQ(p.gid, gid);
}

TEST(ResolvePrivilegesTest, ExplicitRootKeepsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  Privileges p;
  p.drop = true;  // must be reset
  std::string err;
  ASSERT_TRUE(resolvePrivileges("root", &p, &err)) << err;
  EXPECT_FALSE(p.drop);
}

TEST(ResolvePrivilegesTest, UnknownUserIsAnError) {
  Privileges p;
  std::string err;
  EXPECT_FALSE(resolvePrivileges("no-such-user-hs-test", &p, &err));
  EXPECT_FALSE(p.drop);
  if (::geteuid() == 0) {
    EXPECT_NE(err.find("unknown user 'no-such-user-hs-test'"), std::string::npos) << err;
  } else {
    EXPECT_NE(err.find("root"), std::string::npos) << err;  // --user needs root at all
  }
}

TEST(ResolvePrivilegesTest, NotRootMeansNoChange) {
  if (::geteuid() == 0) GTEST_SKIP() << "runs only without root";
  Privileges p;
  std::string err;
  EXPECT_TRUE(resolvePrivileges("", &p, &err));
  EXPECT_FALSE(p.drop);
}

TEST(DropPrivilegesTest, NoDropIsANoOp) {
  uid_t before = ::geteuid();
  EXPECT_TRUE(dropPrivileges(Privileges{}));
  EXPECT_EQ(::geteuid(), before);
}

TEST(DropPrivilegesTest, DropsToNobodyForGood) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  Privileges p;
  std::string err;
  ASSERT_TRUE(resolvePrivileges("", &p, &err)) << err;
  ASSERT_TRUE(p.drop);
  // In a child: dropping is irreversible, and the rest of the tests need root.
  EXPECT_EXIT(
      {
        bool ok = dropPrivileges(p);
        bool stuck = ::setuid(0) != 0;
        gid_t groups[4];
        int n = ::getgroups(4, groups);
        bool groupsOk = n == 1 && groups[0] == p.gid;
        std::_Exit(ok && stuck && groupsOk && ::getuid() == p.uid && ::getegid() == p.gid ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace hs
